package collector

// Benchmarks of a scrape's cost, and the check that repeated scrapes send
// byte-identical request bodies. How to run them and what the figures mean:
// BENCHMARKS.md at the repository root.
//
//	go test ./collector/ -run '^$' -bench . -benchmem -count 5

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/tools/demo/living"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// benchTwentyQueries is 20 queries of 3 calls each (status for the total,
// severity, country): 60 counts per round, no ages, and the 4 incident counts.
func benchTwentyQueries() string {
	var b strings.Builder
	b.WriteString("queries:\n")
	windows := []string{"1h", "24h", "7d", "30d"}
	for i := range 20 {
		fmt.Fprintf(&b, "  - name: q%02d\n    window: %s\n    filters:\n      - {field: status, operator: IS, value: %d}\n    by: [severity, country]\n",
			i, windows[i%len(windows)], 1+i%5)
	}
	return b.String()
}

// benchRound is what a round of a query set asks of UTMStack, periodic
// calls aside.
type benchRound struct{ values, searches, incidents int }

func (r benchRound) total() int { return r.values + r.searches + r.incidents }

// benchQuerySets are the configurations benchmarked, with their calls per
// round: the built-in set's 8 counts (all by severity, status, country and
// rule; open by severity, country and rule plus its total), 2 ages and 4
// incident statuses.
var benchQuerySets = []struct {
	name  string
	yaml  string
	calls benchRound
}{
	{"builtin", "", benchRound{8, 2, 4}},
	{"20queries", benchTwentyQueries(), benchRound{60, 0, 4}},
}

const infoPath = "/management/info"

// benchCalls counts upstream calls by kind. The periodic ones are the
// unfiltered index counts (values-with-count without "@timestamp" in the
// body) and GET /management/info, at most one of the two per round.
type benchCalls struct{ values, searches, incidents, periodic, logins atomic.Int64 }

func (c *benchCalls) count(path string, body []byte) {
	switch {
	case path == "/api/authenticate":
		c.logins.Add(1)
	case path == dataPath && bytes.Contains(body, []byte(`"@timestamp"`)):
		c.values.Add(1)
	case path == dataPath, path == infoPath:
		c.periodic.Add(1)
	case path == searchPath:
		c.searches.Add(1)
	case path == incidentsPath:
		c.incidents.Add(1)
	}
}

func (c *benchCalls) reset() {
	for _, n := range []*atomic.Int64{&c.values, &c.searches, &c.incidents, &c.periodic, &c.logins} {
		n.Store(0)
	}
}

// check fails the benchmark unless n scrapes since the last reset made
// exactly want's calls per scrape, at most one periodic call each, and no
// login; it reports the calls per scrape.
func (c *benchCalls) check(b *testing.B, want benchRound, n int) {
	got := benchRound{int(c.values.Load()), int(c.searches.Load()), int(c.incidents.Load())}
	periodic, logins := int(c.periodic.Load()), c.logins.Load()
	b.ReportMetric(float64(got.total()+periodic)/float64(n), "calls/op")
	if got != (benchRound{want.values * n, want.searches * n, want.incidents * n}) || periodic > n || logins != 0 {
		b.Errorf("%d scrapes made %d counts, %d searches, %d incident counts, %d periodic calls, %d logins; want %+v per scrape, at most 1 periodic, no login",
			n, got.values, got.searches, got.incidents, periodic, logins, want)
	}
}

// benchCounting counts the calls that reach next.
type benchCounting struct {
	next http.Handler
	benchCalls
}

func (h *benchCounting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.count(r.URL.Path, body)
	h.next.ServeHTTP(w, r)
}

// benchEnv is an exporter served the way main serves it (Go and process
// collectors, promhttp instrumentation) in front of an upstream.
type benchEnv struct {
	upstream *httptest.Server
	exporter *Exporter
	server   *httptest.Server
	client   *http.Client
	identity bool // scrape without gzip
}

// newBenchEnv starts upstream and an exporter configured by yamlBody (as in
// newHarness: appended after the url and auth lines).
func newBenchEnv(tb testing.TB, upstream http.Handler, clock *utmstacktest.Clock, yamlBody string) *benchEnv {
	return newBenchEnvWith(tb, upstream, clock, yamlBody, asMain)
}

// exporterMetrics say what the process registry holds beside the
// exporter's own counters, and whether promhttp instruments the handler.
type exporterMetrics struct{ goCollector, processCollector, instrumented bool }

var (
	asMain = exporterMetrics{true, true, true}
	asBare = exporterMetrics{} // main's --web.disable-exporter-metrics
)

// newBenchEnvWith is newBenchEnv with the given exporter metrics.
func newBenchEnvWith(tb testing.TB, upstream http.Handler, clock *utmstacktest.Clock, yamlBody string, m exporterMetrics) *benchEnv {
	tb.Helper()
	env := &benchEnv{upstream: httptest.NewServer(upstream)}
	tb.Cleanup(env.upstream.Close)

	registry := prometheus.NewRegistry()
	registry.MustRegister(versioncollector.NewCollector("utmstack_exporter"))
	if m.goCollector {
		registry.MustRegister(collectors.NewGoCollector())
	}
	if m.processCollector {
		registry.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	config.NewReloader("unused.yml", nil, nil, slog.New(slog.DiscardHandler), registry)
	opts := Options{Metrics: NewProcessMetrics(registry), Gatherer: registry, Logger: slog.New(slog.DiscardHandler)}
	if clock != nil {
		opts.Now = clock.Now
	}
	env.exporter = New(opts)
	text := fmt.Sprintf("utmstack:\n  url: %s\n  auth:\n    username: %s\n%s", env.upstream.URL, testUser, yamlBody)
	cfg, err := config.Parse([]byte(text), "bench.yml", func(k string) (string, bool) {
		return testPassword, k == "UTMSTACK_PASSWORD"
	})
	if err != nil {
		tb.Fatalf("config: %v\n%s", err, text)
	}
	if err := env.exporter.Apply(cfg); err != nil {
		tb.Fatal(err)
	}
	var handler http.Handler = env.exporter
	if m.instrumented {
		handler = promhttp.InstrumentMetricHandler(registry, env.exporter)
	}
	env.server = httptest.NewServer(handler)
	tb.Cleanup(env.server.Close)
	env.client = env.server.Client()
	return env
}

// scrape is one Prometheus-like GET: gzip asked for (and not decompressed
// here, as Prometheus' own client would), the body read to the end.
func (env *benchEnv) scrape(tb testing.TB, buf *bytes.Buffer) {
	req, _ := http.NewRequest(http.MethodGet, env.server.URL, nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1")
	if env.identity {
		req.Header.Set("Accept-Encoding", "identity") // else net/http asks for gzip itself
	} else {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := env.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("scrape: status %d, err %v", resp.StatusCode, err)
	}
}

// mustBeUp fails unless a plain-text scrape shows every query succeeding, so
// a benchmark never measures failures.
func (env *benchEnv) mustBeUp(tb testing.TB) {
	tb.Helper()
	resp, err := env.client.Get(env.server.URL)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	up, queries := false, 0
	for _, line := range strings.Split(string(body), "\n") {
		switch {
		case line == "utmstack_up 1":
			up = true
		case strings.HasPrefix(line, "utmstack_query_up{"):
			if !strings.HasSuffix(line, " 1") {
				tb.Fatalf("a query failed: %s", line)
			}
			queries++
		case strings.HasPrefix(line, "utmstack_incidents_up ") && line != "utmstack_incidents_up 1":
			tb.Fatalf("the incident counts failed: %s", line)
		}
	}
	if !up || queries == 0 {
		tb.Fatalf("the exporter is not up (utmstack_up 1: %v, queries: %d)", up, queries)
	}
}

// benchStub answers like UTMStack without evaluating anything: a login
// with an opaque token, canned values-with-count bodies chosen by the
// request's field, one document for an age, X-Total-Count for incidents and
// a build version, so the figures are the exporter's cost, not the fake's.
type benchStub struct {
	status, severity, country, rule []byte
	benchCalls
}

func newBenchStub(countries int) *benchStub {
	s := &benchStub{
		status:   []byte(`{"5":5120,"2":1377,"1":640,"3":212,"4":31}`),
		severity: []byte(`{"1":3600,"2":2410,"3":1370}`),
	}
	buckets := func(n int, key func(i int) string) []byte {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s":%d`, key(i), 5000/(i+1)+1)
		}
		b.WriteByte('}')
		return []byte(b.String())
	}
	s.country = buckets(countries, func(i int) string { return fmt.Sprintf("%c%c", 'A'+i/26%26, 'A'+i%26) })
	s.rule = buckets(12, func(i int) string { return fmt.Sprintf("Suspicious activity rule %d", i+1) })
	return s
}

// The aggregated field is the body's first key (filters on the same field
// come later in the body).
var (
	benchStatusField   = []byte(`{"field":"status"`)
	benchSeverityField = []byte(`{"field":"severity"`)
	benchRuleField     = []byte(`{"field":"name.keyword"`)
	// UTMStack's search answer is a bare array of documents; a real alert
	// has many more fields, of which the exporter reads only this one.
	benchAlertDocument = []byte(`[{"@timestamp":"2026-11-20T11:58:31.204Z","name":"Suspicious activity rule 1","severity":3,"status":2}]`)
	benchInfo          = []byte(`{"build":{"artifact":"utmstack","name":"UTMStack-API","version":"v11.0.1-community"},"activeProfiles":["prod"]}`)
	benchIncident      = []byte(`[{"id":41,"incidentName":"Brute force","incidentStatus":"OPEN","incidentSeverity":3,"incidentCreatedDate":"2026-11-19T08:00:00Z"}]`)
	benchIncidents     = map[string]string{"OPEN": "3", "IN_REVIEW": "1", "COMPLETED": "27", "MERGED": "0"}
)

func (s *benchStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf [4096]byte
	n, _ := io.ReadFull(r.Body, buf[:])
	_, _ = io.Copy(io.Discard, r.Body)
	body := buf[:n]
	s.count(r.URL.Path, body)
	var answer []byte
	switch r.URL.Path {
	case "/api/authenticate":
		answer = []byte(`{"success":true,"forceTfa":false,"token":"opaque-bench-token"}`)
	case dataPath:
		switch {
		case bytes.HasPrefix(body, benchStatusField):
			answer = s.status
		case bytes.HasPrefix(body, benchSeverityField):
			answer = s.severity
		case bytes.HasPrefix(body, benchRuleField):
			answer = s.rule
		default:
			answer = s.country
		}
	case searchPath:
		answer = benchAlertDocument
	case incidentsPath:
		// size=1: one incident on the page when there is any.
		total := benchIncidents[r.URL.Query().Get("incidentStatus.equals")]
		if answer = []byte(`[]`); total != "0" {
			answer = benchIncident
		}
		w.Header().Set("X-Total-Count", total)
	case infoPath:
		answer = benchInfo
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
	_, _ = w.Write(answer)
}

// BenchmarkScrape is one whole scrape through HTTP: a GET of /metrics, one
// round of upstream calls on loopback, the breakdowns, the exposition with
// the Go and process metrics beside it, gzip as Prometheus asks for it.
//
//   - fake: the in-process fake UTMStack with 2000 demo alerts (40
//     countries); its filter evaluation is in the figures.
//   - stub: canned answers with n countries; the figures are the exporter's
//     work plus net/http on both ends of the loopback calls.
func BenchmarkScrape(b *testing.B) {
	for _, qs := range benchQuerySets {
		b.Run("fake/"+qs.name, func(b *testing.B) {
			clock := utmstacktest.NewClock(epoch)
			fake := &benchCounting{next: utmstacktest.New(utmstacktest.Options{Clock: clock, Users: map[string]string{testUser: testPassword},
				Alerts: living.Alerts(epoch, 2000, 1)})}
			env := newBenchEnv(b, fake, clock, qs.yaml)
			env.mustBeUp(b)
			fake.reset()
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				env.scrape(b, &buf)
			}
			fake.check(b, qs.calls, b.N)
		})
	}
	for _, qs := range benchQuerySets {
		for _, countries := range []int{30, 100, 250} {
			if qs.name != "builtin" && countries != 250 {
				continue
			}
			b.Run(fmt.Sprintf("stub/%s/countries=%d", qs.name, countries), func(b *testing.B) {
				stub := newBenchStub(countries)
				env := newBenchEnv(b, stub, nil, qs.yaml)
				env.mustBeUp(b)
				stub.reset()
				var buf bytes.Buffer
				b.ReportAllocs()
				for b.Loop() {
					env.scrape(b, &buf)
				}
				stub.check(b, qs.calls, b.N)
			})
		}
	}
}

// BenchmarkRound is a round alone (upstream calls, parsing, breakdowns)
// against the stub: no exposition, no HTTP in front of the exporter.
func BenchmarkRound(b *testing.B) {
	for _, countries := range []int{30, 250} {
		b.Run(fmt.Sprintf("stub/builtin/countries=%d", countries), func(b *testing.B) {
			env := newBenchEnv(b, newBenchStub(countries), nil, "")
			env.mustBeUp(b)
			t := env.exporter.current().inst
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if result := t.Scrape(ctx); !result.Up {
					b.Fatal("round failed")
				}
			}
		})
	}
}

// BenchmarkExposition is a scrape whose round is reused (min_interval on a
// clock that stands still): the per-scrape gathering of the round's metrics
// and of the process registry, the encoding, and gzip unless identity.
// main is as main serves it; bare is --web.disable-exporter-metrics.
func BenchmarkExposition(b *testing.B) {
	for _, c := range []struct {
		name     string
		metrics  exporterMetrics
		identity bool
	}{
		{"main/gzip", asMain, false}, {"main/identity", asMain, true},
		{"bare/gzip", asBare, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			clock := utmstacktest.NewClock(epoch)
			env := newBenchEnvWith(b, newBenchStub(250), clock, "  min_interval: 1h\n", c.metrics)
			env.identity = c.identity
			env.mustBeUp(b)
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				env.scrape(b, &buf)
			}
			b.ReportMetric(float64(buf.Len()), "body-bytes")
		})
	}
}

// benchRecorder keeps the body of every values-with-count and search
// request, then hands the request on with the body restored.
type benchRecorder struct {
	next   http.Handler
	mu     sync.Mutex
	bodies []string
}

func (rec *benchRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == dataPath || r.URL.Path == searchPath {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.bodies = append(rec.bodies, string(body))
		rec.mu.Unlock()
	}
	rec.next.ServeHTTP(w, r)
}

// take returns the windowed bodies recorded since the last call, sorted
// (calls run in parallel, so their order varies). The index counts, which
// have no window and are made every 5 minutes, are left out.
func (rec *benchRecorder) take() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []string
	for _, b := range rec.bodies {
		if strings.Contains(b, "@timestamp") {
			out = append(out, b)
		}
	}
	rec.bodies = nil
	slices.Sort(out)
	return out
}

// TestWindowRoundingSendsIdenticalBodies: two scrapes within one minute, and
// a second exporter (the other half of an HA Prometheus pair), send
// byte-identical values-with-count bodies, so OpenSearch's request cache can
// answer the repeats. The window is date math resolved by OpenSearch, so the
// bodies carry no clock reading at all.
func TestWindowRoundingSendsIdenticalBodies(t *testing.T) {
	clock := utmstacktest.NewClock(epoch.Add(10 * time.Second))
	fake := utmstacktest.New(utmstacktest.Options{Clock: clock, Users: map[string]string{testUser: testPassword},
		Alerts: living.Alerts(epoch, 500, 1)})
	rec := &benchRecorder{next: fake}
	first := newBenchEnv(t, rec, clock, "")
	second := newBenchEnv(t, rec, clock, "")

	first.mustBeUp(t)
	a := rec.take()
	clock.Advance(30 * time.Second)
	first.mustBeUp(t)
	b := rec.take()
	second.mustBeUp(t)
	c := rec.take()
	if len(a) != 5 { // the built-in open counts all time
		t.Fatalf("%d windowed calls in a round, want all's 5", len(a))
	}
	if !slices.Equal(a, b) {
		t.Fatalf("two scrapes 30 s apart sent different bodies:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if !slices.Equal(a, c) {
		t.Fatalf("two exporters sent different bodies:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(c, "\n"))
	}
	for _, body := range a {
		if !strings.Contains(body, `"value":["now-24h/m","now/m"]`) {
			t.Fatalf("body without the rounded window: %s", body)
		}
	}
	t.Logf("5 bodies, identical across scrapes and exporters; e.g. %s", a[0])
}
