package collector

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// Tests of the exporter under a misbehaving UTMStack: every fault goes
// through real HTTP to the fake, and every scrape must answer within its
// deadline, say what failed, export nothing from failed calls and recover
// fully on the first scrape after the fault is gone.

const loginPath = "/api/authenticate"

// faultQueries: "all" makes a country call, "plain" does not, so a fault on
// country calls alone must take down "all" and leave "plain" alone.
const faultQueries = `  timeout: 1h
queries:
  - name: all
    by: [severity, status, country]
  - name: plain
    by: [severity]
`

// faultHealthy is the full answer for knownAlerts with faultQueries.
const faultHealthy = `
# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="all"} 8
utmstack_alerts{query="plain"} 8
# HELP utmstack_alerts_by_severity Alerts matching the query, by severity (low, medium, high; unknown when seen).
# TYPE utmstack_alerts_by_severity gauge
utmstack_alerts_by_severity{query="all",severity="high"} 3
utmstack_alerts_by_severity{query="all",severity="low"} 3
utmstack_alerts_by_severity{query="all",severity="medium"} 2
utmstack_alerts_by_severity{query="plain",severity="high"} 3
utmstack_alerts_by_severity{query="plain",severity="low"} 3
utmstack_alerts_by_severity{query="plain",severity="medium"} 2
# HELP utmstack_alerts_by_status Alerts matching the query, by status (automatic_review, open, in_review, completed; ignored and unknown when seen).
# TYPE utmstack_alerts_by_status gauge
utmstack_alerts_by_status{query="all",status="automatic_review"} 1
utmstack_alerts_by_status{query="all",status="completed"} 1
utmstack_alerts_by_status{query="all",status="ignored"} 1
utmstack_alerts_by_status{query="all",status="in_review"} 1
utmstack_alerts_by_status{query="all",status="open"} 4
# HELP utmstack_alerts_by_country Alerts matching the query, by adversary country code; beyond top_countries summed as other, without geolocation as unknown.
# TYPE utmstack_alerts_by_country gauge
utmstack_alerts_by_country{country="BR",query="all"} 1
utmstack_alerts_by_country{country="CN",query="all"} 2
utmstack_alerts_by_country{country="DE",query="all"} 1
utmstack_alerts_by_country{country="RU",query="all"} 1
utmstack_alerts_by_country{country="US",query="all"} 2
utmstack_alerts_by_country{country="other",query="all"} 0
utmstack_alerts_by_country{country="unknown",query="all"} 1
# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.
# TYPE utmstack_up gauge
utmstack_up 1
# HELP utmstack_query_up 1 when every call of this query succeeded during this scrape.
# TYPE utmstack_query_up gauge
utmstack_query_up{query="all"} 1
utmstack_query_up{query="plain"} 1
`

var faultFamilies = []string{"utmstack_alerts", "utmstack_alerts_by_severity", "utmstack_alerts_by_status",
	"utmstack_alerts_by_country", "utmstack_up", "utmstack_query_up"}

// promScrape fetches /metrics the way Prometheus does, with its scrape
// timeout header, and returns the series by name{labels}, the body and how
// long the answer took.
func promScrape(t *testing.T, h *harness, timeoutHeader string) (map[string]float64, string, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.server.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if timeoutHeader != "" {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeoutHeader)
	}
	client := &http.Client{Timeout: 2 * time.Minute} // a bound; a hung scrape fails the test
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("reading the scrape: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: HTTP %d\n%s", resp.StatusCode, body)
	}
	return parseSeries(t, string(body)), string(body), elapsed
}

// parseSeries reads the text exposition format into name{l="v",...} -> value,
// labels sorted by name.
func parseSeries(t *testing.T, body string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the scrape is not valid text exposition format: %v\n%s", err, body)
	}
	out := map[string]float64{}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			var pairs []string
			for _, l := range m.GetLabel() {
				pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(pairs)
			key := name
			if len(pairs) > 0 {
				key += "{" + strings.Join(pairs, ",") + "}"
			}
			out[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return out
}

// dataSeries lists the utmstack_alerts* series of a query.
func dataSeries(series map[string]float64, query string) []string {
	var out []string
	for k := range series {
		if strings.HasPrefix(k, "utmstack_alerts") && strings.Contains(k, `query="`+query+`"`) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// hangWatch records the upstream requests a fault kept waiting and whether
// each one was cancelled (true) or had to give up on its own bound (false).
type hangWatch struct {
	entered   atomic.Int64
	checked   int64 // entered requests already checked; the test's goroutine only
	cancelled chan bool
}

func newHangWatch() *hangWatch { return &hangWatch{cancelled: make(chan bool, 64)} }

// block waits until the request is cancelled; the minute is a bound that
// fails the test, never a wait the test relies on.
func (hw *hangWatch) block(r *http.Request) {
	hw.entered.Add(1)
	select {
	case <-r.Context().Done():
		hw.cancelled <- true
	case <-time.After(time.Minute):
		hw.cancelled <- false
	}
}

// check fails the test unless at least one request was held and every held
// request was cancelled.
func (hw *hangWatch) check(t *testing.T) {
	t.Helper()
	n := hw.entered.Load() - hw.checked
	if n == 0 {
		t.Fatal("no upstream request reached the hanging fault: the test proves nothing")
	}
	hw.checked += n
	for range n {
		select {
		case ok := <-hw.cancelled:
			if !ok {
				t.Fatal("an upstream request was never cancelled: the scrape deadline did not reach UTMStack calls")
			}
		case <-time.After(90 * time.Second):
			t.Fatal("a held upstream request neither ended nor gave up")
		}
	}
}

// upstreamFault is one way for UTMStack (or what stands in front of it) to
// misbehave on a request.
type upstreamFault struct {
	name   string
	answer func(w http.ResponseWriter, r *http.Request, hw *hangWatch)
	hangs  bool // holds the request until it is cancelled
	// up is utmstack_up when every data call meets the fault while the
	// token is still good: 1 when UTMStack itself answered, 0 when it did
	// not (no answer, a cut or timed-out body, a proxy's 502/503/504).
	up float64
}

// bigBody is a valid answer one byte over the client's limit once the
// padding is counted.
var bigBody = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	b.WriteString(`{"2": 1, "pad": "`)
	b.Write(bytes.Repeat([]byte("x"), utmstack.DefaultMaxBodyBytes))
	b.WriteString(`"}`)
	return b.Bytes()
})

func upstreamFaults() []upstreamFault {
	raw := func(status int, contentType, body string) func(http.ResponseWriter, *http.Request, *hangWatch) {
		return func(w http.ResponseWriter, _ *http.Request, _ *hangWatch) {
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	big := bigBody()
	return []upstreamFault{
		{name: "500 with X-UtmStack-error", up: 1, answer: func(w http.ResponseWriter, _ *http.Request, _ *hangWatch) {
			w.Header().Set("X-UtmStack-error", "ElasticsearchResource.getFieldValuesWithCount: all shards failed")
			w.WriteHeader(http.StatusInternalServerError)
		}},
		{name: "502 nginx page", up: 0, answer: raw(http.StatusBadGateway, "text/html",
			"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")},
		{name: "503 with Retry-After", up: 0, answer: func(w http.ResponseWriter, _ *http.Request, _ *hangWatch) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "Service Temporarily Unavailable")
		}},
		{name: "504 gateway timeout", up: 0, answer: raw(http.StatusGatewayTimeout, "text/html", "<html><body><h1>504 Gateway Time-out</h1></body></html>")},
		{name: "HTML page with 200", up: 1, answer: raw(http.StatusOK, "text/html",
			"<!DOCTYPE html><html><head><title>UTMStack</title></head><body><app-root></app-root></body></html>")},
		{name: "empty body with 200", up: 1, answer: raw(http.StatusOK, "application/json", "")},
		{name: "truncated JSON", up: 1, answer: raw(http.StatusOK, "application/json", `{"2": 4, "5": 1, "3"`)},
		{name: "connection cut mid-body", up: 0, answer: func(w http.ResponseWriter, _ *http.Request, _ *hangWatch) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer func() { _ = conn.Close() }()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"2\": 4, \"5\"")
			_ = buf.Flush()
		}},
		{name: "JSON array", up: 1, answer: raw(http.StatusOK, "application/json", `[{"key":"2","count":4}]`)},
		{name: "JSON string counts", up: 1, answer: raw(http.StatusOK, "application/json", `{"2":"four"}`)},
		{name: "JSON null", up: 1, answer: raw(http.StatusOK, "application/json", `null`)},
		{name: "negative count", up: 1, answer: raw(http.StatusOK, "application/json", `{"2":-4}`)},
		{name: "fractional count", up: 1, answer: raw(http.StatusOK, "application/json", `{"2":4.5}`)},
		{name: "two JSON objects", up: 1, answer: raw(http.StatusOK, "application/json", `{"2":4}{"5":1}`)},
		{name: "body over the 4 MiB limit", up: 1, answer: func(w http.ResponseWriter, _ *http.Request, _ *hangWatch) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(big)
		}},
		{name: "hang past the deadline", up: 0, hangs: true, answer: func(_ http.ResponseWriter, r *http.Request, hw *hangWatch) {
			hw.block(r)
		}},
		{name: "slow trickle", up: 0, hangs: true, answer: func(w http.ResponseWriter, r *http.Request, hw *hangWatch) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"2":`)
			w.(http.Flusher).Flush()
			hw.block(r)
		}},
	}
}

// faultScopes say which requests meet the fault and what must still work.
var faultScopes = []struct {
	name   string
	midRun bool // a good scrape (and login) comes first
	hits   func(r *http.Request, body []byte) bool
	// plainUp: the query without a country call survives
	plainUp bool
	// loginHit: the fault answers the login itself
	loginHit bool
}{
	{name: "from start, every request", hits: func(r *http.Request, _ []byte) bool { return strings.HasPrefix(r.URL.Path, "/api/") },
		loginHit: true},
	{name: "mid-run, every data call", midRun: true, hits: func(r *http.Request, _ []byte) bool { return isDataCall(r) }},
	{name: "mid-run, country calls", midRun: true, plainUp: true, hits: func(r *http.Request, body []byte) bool {
		return r.URL.Path == dataPath && bytes.Contains(body, []byte("countryCode"))
	}},
}

// Scrape timeouts as Prometheus sends them: a short one where the fault
// holds the request (the deadline must end it), a roomy one where the fault
// answers at once (a loaded -race run must not turn it into a timeout).
const (
	hangScrapeTimeout  = "0.5"
	quickScrapeTimeout = "10"
	scrapeSlack        = 2500 * time.Millisecond
)

func scrapeBound(header string) time.Duration {
	d, err := time.ParseDuration(header + "s")
	if err != nil {
		panic(err)
	}
	return d + scrapeSlack
}

func TestUpstreamFaults(t *testing.T) {
	for _, scope := range faultScopes {
		for _, f := range upstreamFaults() {
			t.Run(scope.name+"/"+f.name, func(t *testing.T) {
				queries := faultQueries
				if scope.loginHit && f.hangs {
					// A login runs on past the scrape, to utmstack.timeout.
					queries = strings.Replace(faultQueries, "timeout: 1h", "timeout: 3s", 1)
				}
				h := newHarness(t, knownAlerts(), queries)
				if scope.midRun {
					h.scrape(t, faultHealthy, faultFamilies...)
				}
				hw := newHangWatch()
				var hits atomic.Int64
				h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
					body, _ := io.ReadAll(r.Body) // the server notices a client gone only once the body is read
					r.Body = io.NopCloser(bytes.NewReader(body))
					if !scope.hits(r, body) {
						return false
					}
					hits.Add(1)
					f.answer(w, r, hw)
					return true
				})

				timeout := quickScrapeTimeout
				if f.hangs {
					timeout = hangScrapeTimeout
				}
				// Where one call hangs and the others answer, whether the
				// answered queries survive depends on what finishes first
				// at the deadline: ask three times.
				repeats := 1
				if f.hangs && scope.plainUp {
					repeats = 3
				}
				for attempt := range repeats {
					faultScrape(t, h, scope.loginHit, scope.plainUp, f, timeout, attempt)
					if hits.Load() == 0 {
						t.Fatal("the fault never fired: the test proves nothing")
					}
					if f.hangs {
						hw.check(t)
					}
					h.clock.Advance(15 * time.Second)
				}

				// The fault clears; a scrape interval later everything is
				// back. A login sent but never answered may have counted as
				// a failed one at UTMStack, so it backs off as one (2 min).
				h.fake.SetFault(nil)
				if scope.loginHit && f.hangs {
					// This scrape waits for the held login's end, or meets
					// the backoff it left.
					promScrape(t, h, quickScrapeTimeout)
					h.clock.Advance(2 * time.Minute)
				} else {
					h.clock.Advance(time.Minute)
				}
				h.scrape(t, faultHealthy, faultFamilies...)
			})
		}
	}
}

// faultScrape is one scrape while f is in place, and its checks.
func faultScrape(t *testing.T, h *harness, loginHit, plainUp bool, f upstreamFault, timeout string, attempt int) {
	t.Helper()
	series, body, elapsed := promScrape(t, h, timeout)
	failed := false
	fail := func(format string, args ...any) {
		t.Helper()
		failed = true
		t.Errorf("scrape %d: "+format, append([]any{attempt + 1}, args...)...)
	}
	if elapsed > scrapeBound(timeout) {
		fail("the scrape took %v with a %ss scrape timeout", elapsed, timeout)
	}
	if f.hangs {
		t.Logf("scrape %d answered in %v with a %ss scrape timeout", attempt+1, elapsed.Round(time.Millisecond), timeout)
	}
	wantUp := f.up
	switch {
	case loginHit:
		wantUp = 0 // authentication did not succeed
	case plainUp:
		wantUp = 1 // the other calls were answered
	}
	if got := series["utmstack_up"]; got != wantUp {
		fail("utmstack_up = %v, want %v", got, wantUp)
	}
	if got := series[`utmstack_query_up{query="all"}`]; got != 0 {
		fail(`utmstack_query_up{query="all"} = %v, want 0`, got)
	}
	if leaked := dataSeries(series, "all"); len(leaked) > 0 {
		fail("a failed query exported data: %v", leaked)
	}
	if plainUp {
		if series[`utmstack_query_up{query="plain"}`] != 1 || series[`utmstack_alerts{query="plain"}`] != 8 ||
			series[`utmstack_alerts_by_severity{query="plain",severity="high"}`] != 3 {
			fail("the query without a country call lost its data")
		}
	} else {
		if got := series[`utmstack_query_up{query="plain"}`]; got != 0 {
			fail(`utmstack_query_up{query="plain"} = %v, want 0`, got)
		}
		if leaked := dataSeries(series, "plain"); len(leaked) > 0 {
			fail("a failed query exported data: %v", leaked)
		}
	}
	// A broken UTMStack is never blamed on the credentials.
	for _, reason := range []string{"bad_credentials", "locked", "tfa_required", "forbidden"} {
		if n := series[`utmstack_exporter_auth_failures_total{reason="`+reason+`"}`]; n != 0 {
			fail("auth_failures_total{reason=%q} = %v", reason, n)
		}
	}
	if failed {
		t.Logf("scrape %d:\n%s\nlog:\n%s", attempt+1, body, h.logs)
	}
}

// restartUpstream serves the fake again on the address a closed server had.
func restartUpstream(t *testing.T, h *harness, addr string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h.fake)
	_ = srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
}

func TestUpstreamRefusingConnections(t *testing.T) {
	for _, midRun := range []bool{false, true} {
		t.Run(fmt.Sprintf("mid-run=%v", midRun), func(t *testing.T) {
			h := newHarness(t, knownAlerts(), faultQueries)
			if midRun {
				h.scrape(t, faultHealthy, faultFamilies...)
			}
			addr := h.upstream.Listener.Addr().String()
			h.upstream.Close()

			for range 3 {
				h.clock.Advance(15 * time.Second)
				series, body, elapsed := promScrape(t, h, quickScrapeTimeout)
				if elapsed > scrapeBound(quickScrapeTimeout) {
					t.Errorf("the scrape took %v", elapsed)
				}
				for key, want := range map[string]float64{
					"utmstack_up": 0, `utmstack_query_up{query="all"}`: 0, `utmstack_query_up{query="plain"}`: 0,
					`utmstack_exporter_auth_failures_total{reason="bad_credentials"}`: 0,
				} {
					if got, ok := series[key]; !ok || got != want {
						t.Errorf("%s = %v (present %v), want %v\n%s", key, got, ok, want, body)
					}
				}
				if leaked := append(dataSeries(series, "all"), dataSeries(series, "plain")...); len(leaked) > 0 {
					t.Errorf("data exported while UTMStack refuses connections: %v", leaked)
				}
				if !strings.Contains(body, `utmstack_exporter_upstream_requests_total{code="error"`) {
					t.Errorf("the refused calls are not counted as code=\"error\":\n%s", body)
				}
			}
			restartUpstream(t, h, addr)
			h.clock.Advance(time.Minute)
			h.scrape(t, faultHealthy, faultFamilies...)
		})
	}
}

func loginCount(h *harness) int { return h.fake.Requests(http.MethodPost, loginPath) }

// alertsShifted is knownAlerts moved d later, so that it keeps its place in
// the 24h window after the clock is advanced by d.
func alertsShifted(t *testing.T, d time.Duration) []utmstacktest.Alert {
	t.Helper()
	alerts := knownAlerts()
	for _, a := range alerts {
		ts, err := time.Parse(time.RFC3339, a["@timestamp"].(string))
		if err != nil {
			t.Fatal(err)
		}
		a["@timestamp"] = ts.Add(d).Format(time.RFC3339)
	}
	return alerts
}

func TestTokenExpiryMidRunLogsInOnceAhead(t *testing.T) {
	for _, advance := range []time.Duration{22 * time.Hour, 25 * time.Hour, 30 * 24 * time.Hour} {
		t.Run(advance.String(), func(t *testing.T) {
			h := newHarness(t, knownAlerts(), faultQueries)
			h.scrape(t, faultHealthy, faultFamilies...)
			h.clock.Advance(advance) // into the renewal window, or past exp
			h.fake.SetAlerts(alertsShifted(t, advance))
			for i := range 5 {
				h.scrape(t, faultHealthy, faultFamilies...)
				h.clock.Advance(time.Minute)
				if n := loginCount(h); n != 2 {
					t.Fatalf("scrape %d after %v: %d logins, want exactly 2 (one re-login)", i, advance, n)
				}
			}
			// The renewal came before the token was refused, not after.
			series, _, _ := promScrape(t, h, "")
			if n := series[`utmstack_exporter_upstream_requests_total{code="401",endpoint="values_with_count"}`]; n != 0 {
				t.Fatalf("%v data calls were refused with 401: the token was not renewed ahead of exp", n)
			}
		})
	}
}

func TestBackendRestartCostsOneLoginAndNoFailedScrape(t *testing.T) {
	h := newHarness(t, knownAlerts(), faultQueries)
	h.scrape(t, faultHealthy, faultFamilies...)
	const restarts = 10
	for i := range restarts {
		h.fake.Restart() // a new signing key: the token now gets 401
		h.clock.Advance(15 * time.Second)
		h.scrape(t, faultHealthy, faultFamilies...)
		if n := loginCount(h); n != 2+i {
			t.Fatalf("restart %d: %d logins in all, want %d (exactly one re-login per restart)", i+1, n, 2+i)
		}
	}
	series, _, _ := promScrape(t, h, "")
	refused := series[`utmstack_exporter_upstream_requests_total{code="401",endpoint="values_with_count"}`]
	if refused == 0 {
		t.Fatal("no data call met a 401: the restarts were not noticed, the test proves nothing")
	}
	t.Logf("%d backend restarts: %d logins in all, %v data calls refused with 401 and retried, 0 failed scrapes",
		restarts, loginCount(h), refused)
}

func TestForbiddenDataCallsDoNotLoopLogins(t *testing.T) {
	h := newHarness(t, knownAlerts(), faultQueries)
	h.refuse(isDataCall, http.StatusForbidden)
	const scrapes = 20
	for range scrapes {
		series, body, _ := promScrape(t, h, "")
		if series["utmstack_up"] != 0 || series[`utmstack_query_up{query="all"}`] != 0 {
			t.Fatalf("a 403 on every data call is not reported as down:\n%s", body)
		}
		if leaked := append(dataSeries(series, "all"), dataSeries(series, "plain")...); len(leaked) > 0 {
			t.Fatalf("data exported from refused calls: %v", leaked)
		}
		h.clock.Advance(15 * time.Second)
	}
	if n := loginCount(h); n != 1 {
		t.Fatalf("%d logins over %d scrapes refused with 403, want 1", n, scrapes)
	}
	series, _, _ := promScrape(t, h, "")
	if series[`utmstack_exporter_auth_failures_total{reason="forbidden"}`] == 0 {
		t.Fatal(`auth_failures_total{reason="forbidden"} does not say why`)
	}
	if series[`utmstack_exporter_auth_failures_total{reason="bad_credentials"}`] != 0 {
		t.Fatal("a 403 was counted as bad credentials")
	}
	t.Logf("%d scrapes with every data call refused 403: %d login", scrapes, loginCount(h))
}

// TestPersistent401OnDataCallsIsBounded: something between the exporter and
// UTMStack refuses every data call with 401 although logins succeed. Each
// call may log in once and retry once; the logins per scrape stay bounded by
// the calls of a round, and every login succeeds, so none counts toward the
// lock-out.
func TestPersistent401OnDataCallsIsBounded(t *testing.T) {
	h := newHarness(t, knownAlerts(), faultQueries)
	h.refuse(isDataCall, http.StatusUnauthorized)
	const scrapes = 20
	const callsPerRound = 10 // all: status, severity, country; plain: status, severity; 4 incident counts; the index count
	maxPerScrape := 0
	for range scrapes {
		before := loginCount(h)
		series, body, _ := promScrape(t, h, "")
		if series["utmstack_up"] != 0 {
			t.Fatalf("every data call refused, yet utmstack_up is not 0:\n%s", body)
		}
		maxPerScrape = max(maxPerScrape, loginCount(h)-before)
		h.clock.Advance(15 * time.Second)
	}
	if maxPerScrape > callsPerRound {
		t.Fatalf("up to %d logins in one scrape of %d calls", maxPerScrape, callsPerRound)
	}
	if n := h.fake.Requests(http.MethodPost, dataPath); n > 2*callsPerRound*scrapes {
		t.Fatalf("%d data calls in %d scrapes: more than one retry per call", n, scrapes)
	}
	t.Logf("persistent 401 on data calls: %d logins (all successful) in %d scrapes, at most %d in one scrape; %d data calls",
		loginCount(h), scrapes, maxPerScrape, h.fake.Requests(http.MethodPost, dataPath))
}

func TestWrongPasswordForHoursNeverLocksOut(t *testing.T) {
	h := newHarness(t, knownAlerts(), faultQueries)
	if err := h.exporter.Apply(h.config(t, faultQueries, "wrong-password-for-hours")); err != nil {
		t.Fatal(err)
	}
	const interval = 30 * time.Second
	const span = 4*time.Hour + 10*time.Minute
	start := h.clock.Now()
	scrapes := 0
	for i := 0; i < 2000 && h.clock.Now().Sub(start) < span; i++ {
		series, body, _ := promScrape(t, h, "")
		if series["utmstack_up"] != 0 || len(dataSeries(series, "all")) > 0 {
			t.Fatalf("scrape %d with a wrong password:\n%s", scrapes, body)
		}
		scrapes++
		if scrapes%40 == 0 {
			// A reload that keeps the credentials keeps the client and its
			// backoff: a reload storm cannot buy extra attempts.
			if err := h.exporter.Apply(h.config(t, faultQueries, "wrong-password-for-hours")); err != nil {
				t.Fatal(err)
			}
		}
		h.clock.Advance(interval)
	}
	attempts := h.fake.LoginAttempts()
	most := h.fake.MaxLoginAttemptsWithin(10 * time.Minute)
	t.Logf("wrong password: %d login attempts in %v of fake time (%d scrapes every %v, a same-credential reload every 40), at most %d in any 10 minutes",
		len(attempts), span, scrapes, interval, most)
	if most >= 10 {
		t.Fatalf("%d login attempts within 10 minutes: UTMStack blocks the IP at 10", most)
	}
	if most > 4 {
		t.Fatalf("%d login attempts within 10 minutes, want at most 4 (room for an HA pair behind one NAT)", most)
	}
	if len(attempts) < 5 {
		t.Fatalf("only %d login attempts in %v: the exporter stopped trying", len(attempts), span)
	}
	if last := attempts[len(attempts)-1]; start.Add(span).Sub(last) > 16*time.Minute {
		t.Fatalf("last attempt at %v, more than the 15-minute cap before the end", last.Sub(start))
	}
	series, body, _ := promScrape(t, h, "")
	if got := series[`utmstack_exporter_auth_failures_total{reason="bad_credentials"}`]; got != float64(len(attempts)) {
		t.Fatalf("auth_failures_total{reason=\"bad_credentials\"} = %v, want %d, one per attempt:\n%s", got, len(attempts), body)
	}
	if series[`utmstack_exporter_auth_failures_total{reason="locked"}`] != 0 {
		t.Fatal("the exporter got itself locked out")
	}
	if strings.Contains(h.logs.String(), "wrong-password-for-hours") {
		t.Fatal("the password reached the log")
	}

	// The corrected password arrives by reload: a new client, no backoff
	// left to wait out, data on the very next scrape.
	if err := h.exporter.Apply(h.config(t, faultQueries, testPassword)); err != nil {
		t.Fatal(err)
	}
	before := len(attempts)
	h.scrape(t, faultHealthy, faultFamilies...)
	if n := len(h.fake.LoginAttempts()); n != before+1 {
		t.Fatalf("%d login attempts for the corrected password, want 1", n-before)
	}
}

func TestLockedOutWaitsAndRecovers(t *testing.T) {
	t.Run("423 for hours", func(t *testing.T) {
		h := newHarness(t, knownAlerts(), faultQueries)
		// Another client behind the same NAT keeps the IP blocked.
		h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != loginPath {
				return false
			}
			w.Header().Set("X-UtmStack-error", "Authentication blocked: IP 127.0.0.1 exceeded login attempt threshold")
			w.WriteHeader(http.StatusLocked)
			return true
		})
		const span = 3 * time.Hour
		start := h.clock.Now()
		for i := 0; i < 2000 && h.clock.Now().Sub(start) < span; i++ {
			series, body, _ := promScrape(t, h, "")
			if series["utmstack_up"] != 0 {
				t.Fatalf("locked out, yet utmstack_up is not 0:\n%s", body)
			}
			h.clock.Advance(15 * time.Second)
		}
		attempts := h.fake.LoginAttempts()
		most := h.fake.MaxLoginAttemptsWithin(10 * time.Minute)
		t.Logf("423 Locked for %v: %d login attempts, at most %d in any 10 minutes, first gap %v",
			span, len(attempts), most, attempts[1].Sub(attempts[0]))
		if most > 1 {
			t.Fatalf("%d attempts within 10 minutes while UTMStack answers 423", most)
		}
		if attempts[1].Sub(attempts[0]) < 10*time.Minute {
			t.Fatalf("retried %v after a 423; the block lasts 10 minutes", attempts[1].Sub(attempts[0]))
		}
		series, _, _ := promScrape(t, h, "")
		if got := series[`utmstack_exporter_auth_failures_total{reason="locked"}`]; got != float64(len(attempts)) {
			t.Fatalf(`auth_failures_total{reason="locked"} = %v, want %d`, got, len(attempts))
		}
		if series[`utmstack_exporter_auth_failures_total{reason="bad_credentials"}`] != 0 {
			t.Fatal("a 423 was counted as bad credentials")
		}
		// The block is lifted and a reload brings a new password. The
		// exporter cannot see the block lifted: the new password waits the
		// lock-out out too, then logs in once.
		h.fake.SetFault(nil)
		h.fake.SetPassword(testUser, "rotated-after-lockout")
		if err := h.exporter.Apply(h.config(t, faultQueries, "rotated-after-lockout")); err != nil {
			t.Fatal(err)
		}
		if series, body, _ := promScrape(t, h, ""); series["utmstack_up"] != 0 || len(h.fake.LoginAttempts()) != len(attempts) {
			t.Fatalf("a new password logged in during the lock-out's wait:\n%s", body)
		}
		h.clock.Advance(30 * time.Minute) // the longest locked backoff
		h.scrape(t, faultHealthy, faultFamilies...)
		if n := len(h.fake.LoginAttempts()) - len(attempts); n != 1 {
			t.Fatalf("%d logins once the wait was over, want 1", n)
		}
	})

	t.Run("real block, right password", func(t *testing.T) {
		h := newHarness(t, knownAlerts(), faultQueries)
		// Someone else on this IP failed 10 logins: UTMStack blocks it.
		for range 10 {
			resp, err := http.Post(h.upstream.URL+loginPath, "application/json",
				strings.NewReader(`{"username":"someone","password":"guess","rememberMe":false}`))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
		start := h.clock.Now()
		var recovered time.Duration
		for i := 0; i < 200 && recovered == 0; i++ {
			series, _, _ := promScrape(t, h, "")
			if series["utmstack_up"] == 1 {
				recovered = h.clock.Now().Sub(start)
				break
			}
			h.clock.Advance(15 * time.Second)
		}
		attempts := h.fake.LoginAttempts()[10:]
		t.Logf("IP blocked at start: %d exporter login attempts, data again after %v", len(attempts), recovered)
		if recovered == 0 || recovered > 12*time.Minute {
			t.Fatalf("recovered after %v, want once the 10-minute block is over", recovered)
		}
		if len(attempts) != 2 {
			t.Fatalf("%d login attempts, want 2: one blocked, one after the block", len(attempts))
		}
		h.scrape(t, faultHealthy, faultFamilies...)
	})
}
