package collector

import (
	"bytes"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// The counters are exported as const metrics (metrics.go); what a scrape
// sees must be what client_golang's counters of the same names, help and
// labels would show, created timestamps included.
func TestCountersExportAsClientGolangCounters(t *testing.T) {
	start := time.Now()
	ours := prometheus.NewPedanticRegistry()
	m := newMetrics()
	ours.MustRegister(m)
	hooks := m.Hooks()

	reference := prometheus.NewPedanticRegistry()
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "utmstack_exporter_auth_failures_total",
		Help: "Failed authentications against UTMStack, by reason."}, []string{"reason"})
	logins := prometheus.NewCounter(prometheus.CounterOpts{Name: "utmstack_exporter_logins_total",
		Help: "Successful password logins to UTMStack."})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "utmstack_exporter_upstream_requests_total",
		Help: "HTTP requests made to UTMStack, by endpoint and status code (error: no answer)."}, []string{"endpoint", "code"})
	reference.MustRegister(failures, logins, requests)
	for _, r := range utmstack.Reasons {
		failures.WithLabelValues(string(r))
	}

	for range 3 {
		hooks.Request("values-with-count", 200)
		requests.WithLabelValues("values-with-count", "200").Inc()
	}
	hooks.Request("authenticate", 0)
	requests.WithLabelValues("authenticate", "error").Inc()
	hooks.Request("authenticate", 200)
	requests.WithLabelValues("authenticate", "200").Inc()
	hooks.Login()
	logins.Inc()
	hooks.AuthFailure(utmstack.ReasonLocked)
	hooks.AuthFailure(utmstack.ReasonLocked)
	failures.WithLabelValues(string(utmstack.ReasonLocked)).Add(2)

	text := func(g prometheus.Gatherer) string {
		t.Helper()
		mfs, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
			for _, m := range mf.Metric {
				if ct := m.GetCounter().GetCreatedTimestamp(); ct == nil || ct.AsTime().Before(start.Truncate(time.Second)) {
					t.Errorf("%s %v: created timestamp %v, want one from this test", mf.GetName(), m.GetLabel(), ct)
				}
			}
		}
		return b.String()
	}
	if got, want := text(ours), text(reference); got != want {
		t.Fatalf("exported:\n%s\nclient_golang's counters would export:\n%s", got, want)
	}
}
