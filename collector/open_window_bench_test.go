package collector

// What the built-in open query costs UTMStack over its whole history rather
// than the last day. How to run it and what the figures mean: BENCHMARKS.md,
// "The all-time open query".
//
//	go test ./collector/ -run '^$' -bench OpenWindow -benchtime 20x -cpu 1

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/tools/demo/living"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	monthAlerts = 100_000
	monthSpan   = 30 * 24 * time.Hour
	// The open query's calls, each of a round: its total, three
	// breakdowns (severity, country, rule) and the oldest alert's age.
	openCallsPerRound = 5
)

// openQueryYAML is the built-in open query written out with window w, alone:
// no incidents, no coverage read. One call at a time, so the time each call
// spends in the fake is its own.
func openQueryYAML(w string) string {
	return "  max_concurrency: 1\nincidents: false\ncoverage: {data_sources: false, agents: false}\nqueries:\n" +
		"  - name: open\n    window: " + w + "\n    filters:\n      - {field: status, operator: IS, value: 2}\n" +
		"    by: [severity, country, rule]\n    ages: [oldest]\n"
}

// TestOpenQueryYAMLIsTheBuiltInOpen: BenchmarkOpenWindow measures the
// built-in open query, window aside, and not a look-alike.
func TestOpenQueryYAMLIsTheBuiltInOpen(t *testing.T) {
	parse := func(body string) *config.Config {
		t.Helper()
		text := "utmstack:\n  url: http://127.0.0.1:1\n  auth:\n    username: " + testUser + "\n" + body
		cfg, err := config.Parse([]byte(text), "bench.yml", func(k string) (string, bool) { return testPassword, k == "UTMSTACK_PASSWORD" })
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		return cfg
	}
	var builtin config.Query
	for _, q := range parse("").Queries {
		if q.Name == "open" {
			builtin = q
		}
	}
	for _, w := range []struct {
		yaml string
		want time.Duration
	}{{"24h", 24 * time.Hour}, {"0", 0}} {
		qs := parse(openQueryYAML(w.yaml)).Queries
		if len(qs) != 1 {
			t.Fatalf("window %s: %d queries, want 1", w.yaml, len(qs))
		}
		got, want := qs[0], builtin
		want.Window, want.Help = w.want, ""
		if !reflect.DeepEqual(got, want) {
			t.Errorf("window %s: the benchmark's query\n%+v\nis not the built-in open\n%+v", w.yaml, got, want)
		}
	}
}

// monthOfAlerts is living.Alerts stretched from five days to thirty, with a
// SOC's backlog: the last day's alerts keep the generator's statuses (most
// of them open), and five in six of the older open ones are closed.
func monthOfAlerts(now time.Time) []utmstacktest.Alert {
	alerts := living.Alerts(now, monthAlerts, 1)
	stretch := time.Duration(monthSpan / (5 * 24 * time.Hour))
	r := rand.New(rand.NewPCG(1, 2))
	for _, a := range alerts {
		ts, err := time.Parse(time.RFC3339Nano, a["@timestamp"].(string))
		if err != nil {
			panic(err)
		}
		age := now.Sub(ts) * stretch
		a["@timestamp"] = now.Add(-age).UTC().Format(time.RFC3339Nano)
		if age > 24*time.Hour && a["status"] == int64(2) && r.IntN(6) != 0 {
			a["status"], a["statusLabel"] = int64(5), "Completed"
		}
	}
	return alerts
}

// openCounted is the count the open query reports of alerts within window
// of now (0: all time): open, not false positives, not echoes.
func openCounted(alerts []utmstacktest.Alert, now time.Time, window time.Duration) int {
	n := 0
	for _, a := range alerts {
		ts, _ := time.Parse(time.RFC3339Nano, a["@timestamp"].(string))
		_, echo := a["parentId"]
		tags, _ := a["tags"].([]any)
		falsePositive := len(tags) > 0 && tags[0] == "False positive"
		if a["status"] == int64(2) && !echo && !falsePositive && (window == 0 || now.Sub(ts) <= window) {
			n++
		}
	}
	return n
}

// openMeter measures the calls that reach the fake: those carrying the open
// filter, the bytes of their answers (JSON, uncompressed) and their time in
// the fake; and any other call.
type openMeter struct {
	next                        http.Handler
	calls, bytes, nanos, strays atomic.Int64
}

var openFilter = []byte(`{"field":"status","operator":"IS","value":2}`)

func (m *openMeter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	cw := &countingWriter{ResponseWriter: w}
	start := time.Now()
	m.next.ServeHTTP(cw, r)
	elapsed := time.Since(start)
	if (r.URL.Path != dataPath && r.URL.Path != searchPath) || !bytes.Contains(body, openFilter) {
		m.strays.Add(1)
		return
	}
	m.calls.Add(1)
	m.bytes.Add(cw.n)
	m.nanos.Add(int64(elapsed))
}

func (m *openMeter) reset() {
	for _, n := range []*atomic.Int64{&m.calls, &m.bytes, &m.nanos, &m.strays} {
		n.Store(0)
	}
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// BenchmarkOpenWindow is a round of the built-in open query alone against
// the fake holding 100,000 alerts over 30 days, with a 24-hour window and of
// all time. It reports per round the calls (equal for both), the bytes of
// their answers, the time they spent in the fake (fake-ns/op; ns/op adds the
// exporter and loopback HTTP), and the open alerts the query counts.
func BenchmarkOpenWindow(b *testing.B) {
	alerts := monthOfAlerts(epoch)
	fake := utmstacktest.New(utmstacktest.Options{Clock: utmstacktest.NewClock(epoch),
		Users: map[string]string{testUser: testPassword}, Alerts: alerts})
	for _, w := range []struct {
		yaml   string
		window time.Duration
	}{{"24h", 24 * time.Hour}, {"0", 0}} {
		b.Run("window="+w.yaml, func(b *testing.B) {
			meter := &openMeter{next: fake}
			env := newBenchEnv(b, meter, utmstacktest.NewClock(epoch), openQueryYAML(w.yaml))
			env.mustBeUp(b)
			inst, ctx := env.exporter.current().inst, context.Background()
			if !inst.Scrape(ctx).Up { // the second round's periodic call: the version
				b.Fatal("round failed")
			}
			meter.reset()
			for b.Loop() {
				if !inst.Scrape(ctx).Up {
					b.Fatal("round failed")
				}
			}
			calls, strays := meter.calls.Load(), meter.strays.Load()
			if calls != openCallsPerRound*int64(b.N) || strays != 0 {
				b.Fatalf("%d rounds made %d open calls and %d others; want %d open calls a round, no other",
					b.N, calls, strays, openCallsPerRound)
			}
			n := float64(b.N)
			b.ReportMetric(float64(calls)/n, "calls/op")
			b.ReportMetric(float64(meter.bytes.Load())/n, "answer-bytes/op")
			b.ReportMetric(float64(meter.nanos.Load())/n, "fake-ns/op")
			b.ReportMetric(float64(openCounted(alerts, epoch, w.window)), "open-alerts")
		})
	}
}
