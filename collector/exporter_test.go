package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	testUser      = "prometheus"
	testPassword  = "s3cret-exporter-password"
	dataPath      = "/api/elasticsearch/property/values-with-count"
	searchPath    = "/api/elasticsearch/search"
	incidentsPath = "/api/utm-incidents"
)

// refuse answers the requests that match with the status and Spring's
// error JSON, as UTMStack's security filters do.
func (h *harness) refuse(match func(*http.Request) bool, status int) {
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		h.fake.SpringError(w, r, status)
		return true
	})
}

func pathIs(path string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.URL.Path == path }
}

// isDataCall tells the calls a round makes with credentials: counts,
// alert times and incident counts.
func isDataCall(r *http.Request) bool {
	switch r.URL.Path {
	case dataPath, searchPath, incidentsPath:
		return true
	}
	return false
}

var epoch = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// knownAlerts is a hand-counted alert set; the expectations in the tests
// below are written out from it, not computed.
func knownAlerts() []utmstacktest.Alert {
	at := func(ago time.Duration) string { return epoch.Add(-ago).Format(time.RFC3339) }
	geo := func(code string) map[string]any {
		return map[string]any{"geolocation": map[string]any{"countryCode": code, "country": code}}
	}
	return []utmstacktest.Alert{
		{"@timestamp": at(time.Hour), "id": "1", "severity": 3, "status": 2, "adversary": geo("US")},
		{"@timestamp": at(time.Hour), "id": "2", "severity": 3, "status": 2, "adversary": geo("US")},
		{"@timestamp": at(time.Hour), "id": "3", "severity": 2, "status": 2, "adversary": geo("CN")},
		{"@timestamp": at(time.Hour), "id": "4", "severity": 1, "status": 5, "adversary": geo("CN")},
		{"@timestamp": at(time.Hour), "id": "5", "severity": 1, "status": 3, "adversary": geo("RU")},
		{"@timestamp": at(time.Hour), "id": "6", "severity": 2, "status": 1, "adversary": geo("DE")},
		{"@timestamp": at(time.Hour), "id": "7", "severity": 3, "status": 2},                         // no geolocation
		{"@timestamp": at(time.Hour), "id": "8", "severity": 1, "status": 4, "adversary": geo("BR")}, // ignored
		{"@timestamp": at(time.Hour), "id": "9", "severity": 3, "status": 2, "adversary": geo("US"), // false positive
			"tags": []any{"False positive"}},
		{"@timestamp": at(time.Hour), "id": "10", "severity": 3, "status": 2, "adversary": geo("US"), "parentId": "1"}, // echo
		{"@timestamp": at(48 * time.Hour), "id": "11", "severity": 2, "status": 2, "adversary": geo("FR")},             // outside 24h
	}
}

type harness struct {
	clock    *utmstacktest.Clock
	fake     *utmstacktest.Server
	upstream *httptest.Server
	exporter *Exporter
	registry *prometheus.Registry
	server   *httptest.Server
	logs     *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newHarness starts a fake UTMStack with alerts and an exporter configured
// by yamlBody, which is appended after the utmstack url and auth lines (so it
// may continue the utmstack block with indented keys).
func newHarness(t *testing.T, alerts []utmstacktest.Alert, yamlBody string) *harness {
	t.Helper()
	h := &harness{clock: utmstacktest.NewClock(epoch), logs: &syncBuffer{}}
	h.fake = utmstacktest.New(utmstacktest.Options{Clock: h.clock, Users: map[string]string{testUser: testPassword}, Alerts: alerts})
	h.upstream = httptest.NewServer(h.fake)
	t.Cleanup(h.upstream.Close)

	h.registry = prometheus.NewRegistry()
	// What main registers beside the collector, so scrapes look the same.
	h.registry.MustRegister(versioncollector.NewCollector("utmstack_exporter"))
	config.NewReloader("unused.yml", nil, nil, slog.New(slog.DiscardHandler), h.registry)
	h.exporter = New(Options{
		Metrics:  NewProcessMetrics(h.registry),
		Gatherer: h.registry,
		Logger:   slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      h.clock.Now,
	})
	if err := h.exporter.Apply(h.config(t, yamlBody, testPassword)); err != nil {
		t.Fatal(err)
	}
	h.server = httptest.NewServer(h.exporter)
	t.Cleanup(h.server.Close)
	return h
}

// heldRound holds the calls of the next round at fake until scrapers
// requests have reached handler through the returned URL.
// With min_interval (the harness' clock stands still) the round is then
// served to every one of them, whether it joined the round in flight or
// came a moment after it ended: the round's own tests show the joining.
func heldRound(t *testing.T, fake *utmstacktest.Server, scrapers int, handler http.Handler) (url string) {
	held := make(chan struct{})
	fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == dataPath {
			<-held
		}
		return false
	})
	var arrived atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == int64(scrapers) {
			close(held)
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (h *harness) config(t *testing.T, yamlBody, password string) *config.Config {
	t.Helper()
	text := fmt.Sprintf("utmstack:\n  url: %s\n  auth:\n    username: %s\n%s", h.upstream.URL, testUser, yamlBody)
	cfg, err := config.Parse([]byte(text), "test.yml", func(k string) (string, bool) {
		return password, k == "UTMSTACK_PASSWORD"
	})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return cfg
}

// scrape fetches /metrics over HTTP and compares the named families.
func (h *harness) scrape(t *testing.T, want string, names ...string) {
	t.Helper()
	if err := testutil.ScrapeAndCompare(h.server.URL, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

// gatherer returns one scrape's metrics as a Gatherer, for GatherAndLint: its
// round's and its duration, as serve exports them.
func (h *harness) gatherer() prometheus.Gatherer {
	target := h.exporter.current()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(target.collector(target.inst.Scrape(context.Background()), 250*time.Millisecond))
	return reg
}

const twoQueries = `defaults:
  top_countries: 2
queries:
  - name: all
    by: [severity, status, country]
  - name: open
    filters:
      - {field: status, operator: IS, value: 2}
    by: [severity, country]
`

func TestExactCountsByBreakdown(t *testing.T) {
	h := newHarness(t, knownAlerts(), twoQueries)
	h.readCoverage(t) // beside the rounds: read first, for exact request counts
	h.scrape(t, `
# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="all"} 8
utmstack_alerts{query="open"} 4
# HELP utmstack_alerts_by_severity Alerts matching the query, by severity (low, medium, high; unknown when seen).
# TYPE utmstack_alerts_by_severity gauge
utmstack_alerts_by_severity{query="all",severity="high"} 3
utmstack_alerts_by_severity{query="all",severity="low"} 3
utmstack_alerts_by_severity{query="all",severity="medium"} 2
utmstack_alerts_by_severity{query="open",severity="high"} 3
utmstack_alerts_by_severity{query="open",severity="low"} 0
utmstack_alerts_by_severity{query="open",severity="medium"} 1
# HELP utmstack_alerts_by_status Alerts matching the query, by status (automatic_review, open, in_review, completed; ignored and unknown when seen).
# TYPE utmstack_alerts_by_status gauge
utmstack_alerts_by_status{query="all",status="automatic_review"} 1
utmstack_alerts_by_status{query="all",status="completed"} 1
utmstack_alerts_by_status{query="all",status="ignored"} 1
utmstack_alerts_by_status{query="all",status="in_review"} 1
utmstack_alerts_by_status{query="all",status="open"} 4
# HELP utmstack_alerts_by_country Alerts matching the query, by adversary country code; beyond top_countries summed as other, without geolocation as unknown.
# TYPE utmstack_alerts_by_country gauge
utmstack_alerts_by_country{country="CN",query="all"} 2
utmstack_alerts_by_country{country="US",query="all"} 2
utmstack_alerts_by_country{country="other",query="all"} 3
utmstack_alerts_by_country{country="unknown",query="all"} 1
utmstack_alerts_by_country{country="CN",query="open"} 1
utmstack_alerts_by_country{country="US",query="open"} 2
utmstack_alerts_by_country{country="other",query="open"} 0
utmstack_alerts_by_country{country="unknown",query="open"} 1
# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.
# TYPE utmstack_up gauge
utmstack_up 1
# HELP utmstack_query_up 1 when every call of this query succeeded during this scrape.
# TYPE utmstack_query_up gauge
utmstack_query_up{query="all"} 1
utmstack_query_up{query="open"} 1
# HELP utmstack_query_last_success_timestamp_seconds Unix time of the query's last successful round; 0 until the first.
# TYPE utmstack_query_last_success_timestamp_seconds gauge
utmstack_query_last_success_timestamp_seconds{query="all"} 1.795176e+09
utmstack_query_last_success_timestamp_seconds{query="open"} 1.795176e+09
# HELP utmstack_exporter_logins_total Successful password logins to UTMStack.
# TYPE utmstack_exporter_logins_total counter
utmstack_exporter_logins_total 1
# HELP utmstack_exporter_upstream_requests_total HTTP requests made to UTMStack, by endpoint and status code (error: no answer).
# TYPE utmstack_exporter_upstream_requests_total counter
utmstack_exporter_upstream_requests_total{code="200",endpoint="agent_manager_agents"} 1
utmstack_exporter_upstream_requests_total{code="200",endpoint="authenticate"} 1
utmstack_exporter_upstream_requests_total{code="200",endpoint="utm_data_input_statuses"} 1
utmstack_exporter_upstream_requests_total{code="200",endpoint="utm_incidents"} 4
utmstack_exporter_upstream_requests_total{code="200",endpoint="values_with_count"} 7
`, "utmstack_alerts", "utmstack_alerts_by_severity", "utmstack_alerts_by_status", "utmstack_alerts_by_country",
		"utmstack_up", "utmstack_query_up", "utmstack_query_last_success_timestamp_seconds",
		"utmstack_exporter_logins_total", "utmstack_exporter_upstream_requests_total")
}

func TestBuiltInQueriesZeroFilledOnAnEmptyInstall(t *testing.T) {
	h := newHarness(t, nil, "")
	h.scrape(t, `
# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="all"} 0
utmstack_alerts{query="open"} 0
# HELP utmstack_alerts_by_severity Alerts matching the query, by severity (low, medium, high; unknown when seen).
# TYPE utmstack_alerts_by_severity gauge
utmstack_alerts_by_severity{query="all",severity="high"} 0
utmstack_alerts_by_severity{query="all",severity="low"} 0
utmstack_alerts_by_severity{query="all",severity="medium"} 0
utmstack_alerts_by_severity{query="open",severity="high"} 0
utmstack_alerts_by_severity{query="open",severity="low"} 0
utmstack_alerts_by_severity{query="open",severity="medium"} 0
# HELP utmstack_alerts_by_status Alerts matching the query, by status (automatic_review, open, in_review, completed; ignored and unknown when seen).
# TYPE utmstack_alerts_by_status gauge
utmstack_alerts_by_status{query="all",status="automatic_review"} 0
utmstack_alerts_by_status{query="all",status="completed"} 0
utmstack_alerts_by_status{query="all",status="in_review"} 0
utmstack_alerts_by_status{query="all",status="open"} 0
# HELP utmstack_alerts_by_country Alerts matching the query, by adversary country code; beyond top_countries summed as other, without geolocation as unknown.
# TYPE utmstack_alerts_by_country gauge
utmstack_alerts_by_country{country="other",query="all"} 0
utmstack_alerts_by_country{country="unknown",query="all"} 0
utmstack_alerts_by_country{country="other",query="open"} 0
utmstack_alerts_by_country{country="unknown",query="open"} 0
# HELP utmstack_exporter_auth_failures_total Failed authentications against UTMStack, by reason.
# TYPE utmstack_exporter_auth_failures_total counter
utmstack_exporter_auth_failures_total{reason="bad_credentials"} 0
utmstack_exporter_auth_failures_total{reason="error"} 0
utmstack_exporter_auth_failures_total{reason="forbidden"} 0
utmstack_exporter_auth_failures_total{reason="locked"} 0
utmstack_exporter_auth_failures_total{reason="tfa_required"} 0
utmstack_exporter_auth_failures_total{reason="unsupported_api"} 0
`, "utmstack_alerts", "utmstack_alerts_by_severity", "utmstack_alerts_by_status", "utmstack_alerts_by_country",
		"utmstack_exporter_auth_failures_total")
}

func TestFailingQueryDropsOnlyItsOwnSeries(t *testing.T) {
	// The country field lacks .keyword: UTMStack refuses to aggregate it.
	h := newHarness(t, knownAlerts(), `queries:
  - name: broken
    fields: {country: adversary.geolocation.countryCode}
    by: [country]
  - name: fine
    by: [severity]
`)
	h.scrape(t, `
# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="fine"} 8
# HELP utmstack_alerts_by_country Alerts matching the query, by adversary country code; beyond top_countries summed as other, without geolocation as unknown.
# TYPE utmstack_alerts_by_country gauge
# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.
# TYPE utmstack_up gauge
utmstack_up 1
# HELP utmstack_query_up 1 when every call of this query succeeded during this scrape.
# TYPE utmstack_query_up gauge
utmstack_query_up{query="broken"} 0
utmstack_query_up{query="fine"} 1
# HELP utmstack_query_last_success_timestamp_seconds Unix time of the query's last successful round; 0 until the first.
# TYPE utmstack_query_last_success_timestamp_seconds gauge
utmstack_query_last_success_timestamp_seconds{query="broken"} 0
utmstack_query_last_success_timestamp_seconds{query="fine"} 1.795176e+09
`, "utmstack_alerts", "utmstack_alerts_by_country", "utmstack_up", "utmstack_query_up", "utmstack_query_last_success_timestamp_seconds")
	if !strings.Contains(h.logs.String(), `msg="query failed" query=broken`) {
		t.Fatalf("the failure is not logged with the query name:\n%s", h.logs)
	}
}

func TestWrongPasswordIsDownAndCounted(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
	if err := h.exporter.Apply(h.config(t, "", "not-the-password")); err != nil {
		t.Fatal(err)
	}
	for range 3 { // one login attempt, then the backoff holds
		h.scrape(t, `
# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.
# TYPE utmstack_up gauge
utmstack_up 0
# HELP utmstack_exporter_auth_failures_total Failed authentications against UTMStack, by reason.
# TYPE utmstack_exporter_auth_failures_total counter
utmstack_exporter_auth_failures_total{reason="bad_credentials"} 1
utmstack_exporter_auth_failures_total{reason="error"} 0
utmstack_exporter_auth_failures_total{reason="forbidden"} 0
utmstack_exporter_auth_failures_total{reason="locked"} 0
utmstack_exporter_auth_failures_total{reason="tfa_required"} 0
utmstack_exporter_auth_failures_total{reason="unsupported_api"} 0
`, "utmstack_up", "utmstack_exporter_auth_failures_total", "utmstack_alerts")
	}
	if n := h.fake.Requests(http.MethodPost, "/api/authenticate"); n != 1 {
		t.Fatalf("%d login attempts, want 1", n)
	}
	if strings.Contains(h.logs.String(), "not-the-password") {
		t.Fatal("the password reached the log")
	}
}

func TestScrapeDeadlineFromHeader(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  timeout: 1h\n")
	cancelled := make(chan bool, 16)
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != dataPath {
			return false
		}
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a client gone only once the body is read
		select {
		case <-r.Context().Done():
			cancelled <- true
		case <-time.After(time.Minute): // a bound, not a wait: fails the test below
			cancelled <- false
		}
		return true
	})
	// Replace the exporter's offset: 0.7 s from Prometheus less 0.5 s.
	h.exporter.opts.TimeoutOffset = 500 * time.Millisecond
	req, _ := http.NewRequest(http.MethodGet, h.server.URL, nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "0.7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{"utmstack_up 0", `utmstack_query_up{query="all"} 0`, `utmstack_query_up{query="open"} 0`} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("scrape output lacks %q", want)
		}
	}
	if strings.Contains(body.String(), "utmstack_alerts{") {
		t.Error("a timed-out scrape exported alert counts")
	}
	if !<-cancelled {
		t.Fatal("the upstream request was not cancelled at the scrape deadline")
	}
}

// max_concurrency bounds the calls in flight: calls held until the deadline
// let only that many reach UTMStack, and the rest are never made.
func TestMaxConcurrencyBoundsCallsInFlight(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  timeout: 1h\n  max_concurrency: 2\n")
	// A first scrape logs in and opens the connections, so that the held
	// round's calls need only reach the fake within the deadline.
	h.scrape(t, "# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.\n# TYPE utmstack_up gauge\nutmstack_up 1\n", "utmstack_up")
	var arrived atomic.Int64
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != dataPath {
			return false
		}
		arrived.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute): // a bound, not a wait
		}
		return true
	})
	h.exporter.opts.TimeoutOffset = 500 * time.Millisecond
	// The scrape's deadline cuts the round, and so it answers once the
	// round has ended: no call can reach UTMStack after it.
	series, body, _ := promScrape(t, h, "2")
	if n := arrived.Load(); n != 2 {
		t.Errorf("%d calls reached UTMStack while the first were held, want max_concurrency (2)", n)
	}
	if up, ok := series["utmstack_up"]; !ok || up != 0 {
		t.Errorf("a round with every call cut at the deadline is up:\n%s", body)
	}
}

// TestConcurrentScrapesMakeOneRoundAndOneLogin: ten scrapes at once
// through HTTP cost one round's calls and one login. Those that reach the
// instance while the held round runs join it; with min_interval one that
// arrives as it ends is served it. Which of the two each did cannot be
// told from outside without a hook in production code, so a test that
// they all joined would be flaky: round's
// TestScrapesWithEqualBudgetsShareOneRound shows the joining exactly, on
// its fake clock. A scrape that started its own round while one ran
// would show here as more calls.
func TestConcurrentScrapesMakeOneRoundAndOneLogin(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  min_interval: 1m\n")
	const scrapers = 10
	url := heldRound(t, h.fake, scrapers, h.exporter)

	bodies := make(chan string, scrapers)
	for range scrapers {
		go func() {
			resp, err := http.Get(url)
			if err != nil {
				bodies <- err.Error()
				return
			}
			defer func() { _ = resp.Body.Close() }()
			b := new(bytes.Buffer)
			_, _ = b.ReadFrom(resp.Body)
			bodies <- b.String()
		}()
	}
	for range scrapers {
		if body := <-bodies; !strings.Contains(body, `utmstack_alerts{query="all"} 8`) {
			t.Fatalf("a scrape got:\n%s", body)
		}
	}
	// The built-in set: all (status, severity, country, rule) + open
	// (status, severity, country, rule), and the first round's index count.
	if n := h.fake.Requests(http.MethodPost, dataPath); n != 9 {
		t.Fatalf("%d scrapes made %d values-with-count calls, want one round's 9", scrapers, n)
	}
	if n := h.fake.Requests(http.MethodPost, "/api/authenticate"); n != 1 {
		t.Fatalf("%d logins, want 1", n)
	}
}

func TestMinIntervalReusesRecentResults(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  min_interval: 30s\n")
	calls := func() int { return h.fake.Requests(http.MethodPost, dataPath) }
	want := `
# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="all"} 8
utmstack_alerts{query="open"} 5
`
	h.scrape(t, want, "utmstack_alerts")
	h.clock.Advance(29 * time.Second)
	h.scrape(t, want, "utmstack_alerts")
	// The first round: 8 breakdown calls and the index count.
	if calls() != 9 {
		t.Fatalf("a scrape 29 s after the last round made calls: %d in all, want 9", calls())
	}
	h.clock.Advance(2 * time.Second)
	h.scrape(t, want, "utmstack_alerts")
	if calls() != 17 {
		t.Fatalf("a scrape 31 s after the last round: %d calls in all, want 17", calls())
	}
}

func TestCountAboveTenThousandIsExact(t *testing.T) {
	const n = 12_345
	alerts := make([]utmstacktest.Alert, n)
	for i := range alerts {
		alerts[i] = utmstacktest.Alert{"@timestamp": epoch.Add(-time.Minute).Format(time.RFC3339),
			"id": fmt.Sprint(i), "severity": 1 + i%3, "status": 2}
	}
	h := newHarness(t, alerts, "queries:\n  - name: open\n    by: [severity]\n")
	h.scrape(t, `
# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="open"} 12345
# HELP utmstack_alerts_by_severity Alerts matching the query, by severity (low, medium, high; unknown when seen).
# TYPE utmstack_alerts_by_severity gauge
utmstack_alerts_by_severity{query="open",severity="high"} 4115
utmstack_alerts_by_severity{query="open",severity="low"} 4115
utmstack_alerts_by_severity{query="open",severity="medium"} 4115
`, "utmstack_alerts", "utmstack_alerts_by_severity")
}

func TestMetricsPassLint(t *testing.T) {
	h := newHarness(t, knownAlerts(), twoQueries)
	problems, err := testutil.GatherAndLint(h.gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	problems, err = testutil.GatherAndLint(h.registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestReloadKeepsTheTokenUnlessCredentialsChange(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
	logins := func() int { return h.fake.Requests(http.MethodPost, "/api/authenticate") }
	h.scrape(t, "# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.\n# TYPE utmstack_up gauge\nutmstack_up 1\n", "utmstack_up")

	// Same UTMStack settings, other queries: no new login.
	if err := h.exporter.Apply(h.config(t, twoQueries, testPassword)); err != nil {
		t.Fatal(err)
	}
	h.scrape(t, "# HELP utmstack_alerts Alerts matching the query.\n# TYPE utmstack_alerts gauge\nutmstack_alerts{query=\"all\"} 8\nutmstack_alerts{query=\"open\"} 4\n", "utmstack_alerts")
	if logins() != 1 {
		t.Fatalf("%d logins after a reload that kept the credentials, want 1", logins())
	}

	// A changed password: a fresh client, which logs in.
	h.fake.SetPassword(testUser, "rotated-password")
	if err := h.exporter.Apply(h.config(t, twoQueries, "rotated-password")); err != nil {
		t.Fatal(err)
	}
	h.fake.Restart() // the old token would now fail anyway
	h.scrape(t, "# HELP utmstack_alerts Alerts matching the query.\n# TYPE utmstack_alerts gauge\nutmstack_alerts{query=\"all\"} 8\nutmstack_alerts{query=\"open\"} 4\n", "utmstack_alerts")
	if logins() != 2 {
		t.Fatalf("%d logins after a credential change, want 2", logins())
	}
}

func TestRepeatedFailureLogsOnceAtWarning(t *testing.T) {
	h := newHarness(t, knownAlerts(), "queries:\n  - name: open\n")
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == dataPath {
			w.Header().Set("X-UtmStack-error", "ElasticsearchResource.getFieldValuesWithCount: no shards")
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	for range 3 {
		h.scrape(t, "# HELP utmstack_query_up 1 when every call of this query succeeded during this scrape.\n# TYPE utmstack_query_up gauge\nutmstack_query_up{query=\"open\"} 0\n", "utmstack_query_up")
	}
	logs := h.logs.String()
	if warn := strings.Count(logs, `level=WARN msg="query failed"`); warn != 1 {
		t.Fatalf("%d warnings for the same failure three times, want 1:\n%s", warn, logs)
	}
	if debug := strings.Count(logs, `level=DEBUG msg="query failed"`); debug != 2 {
		t.Fatalf("%d debug lines for the repeats, want 2:\n%s", debug, logs)
	}
	h.fake.SetFault(nil)
	h.scrape(t, "# HELP utmstack_query_up 1 when every call of this query succeeded during this scrape.\n# TYPE utmstack_query_up gauge\nutmstack_query_up{query=\"open\"} 1\n", "utmstack_query_up")
	if !strings.Contains(h.logs.String(), `msg="query recovered" query=open`) {
		t.Fatal("recovery not logged")
	}
}

// utmstack_exporter_target_info names the UTMStack an answer is about, on
// /metrics as on /probe, so alert rules can say which instance they mean.
func TestTargetInfoNamesTheUTMStack(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
	h.scrape(t, `
# HELP utmstack_exporter_target_info 1: the UTMStack this answer is about (scheme://host[:port]), for alert rules and panels to name it.
# TYPE utmstack_exporter_target_info gauge
utmstack_exporter_target_info{url="`+h.upstream.URL+`"} 1
`, "utmstack_exporter_target_info")
}
func TestScrapeTimeout(t *testing.T) {
	const offset = 500 * time.Millisecond
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 10 * time.Second},
		{"5", 4500 * time.Millisecond},
		{"30", 10 * time.Second},
		{"0.2", 200 * time.Millisecond}, // offset larger than the timeout: keep the timeout
		{"abc", 10 * time.Second},
		{"-3", 10 * time.Second},
		// Not finite, or too large for a time.Duration: the configured timeout.
		{"NaN", 10 * time.Second},
		{"+Inf", 10 * time.Second},
		{"1e10", 10 * time.Second},
		{"1e300", 10 * time.Second},
	} {
		if got := scrapeTimeout(tc.header, 10*time.Second, offset); got != tc.want {
			t.Errorf("header %q: got %v, want %v", tc.header, got, tc.want)
		}
		// An offset of 0 is valid (--scrape.timeout-offset=0s).
		if got := scrapeTimeout(tc.header, 10*time.Second, 0); got <= 0 || got > 10*time.Second {
			t.Errorf("header %q, no offset: got %v, want within (0, 10s]", tc.header, got)
		}
	}
}
