// Package collector turns UTMStack alert counts into Prometheus metrics.
package collector

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

const namespace = "utmstack"

// Per-scrape metrics: built from each round's result (families.go).
var (
	alertsFamily = &roundFamily{name: "utmstack_alerts",
		help: "Alerts matching the query.", labels: []string{"query"}}
	alertsBySeverityFamily = &roundFamily{name: "utmstack_alerts_by_severity",
		help: "Alerts matching the query, by severity (low, medium, high; unknown when seen).", labels: []string{"query", "severity"}}
	alertsByStatusFamily = &roundFamily{name: "utmstack_alerts_by_status",
		help: "Alerts matching the query, by status (automatic_review, open, in_review, completed; ignored and unknown when seen).", labels: []string{"query", "status"}}
	alertsByCountryFamily = &roundFamily{name: "utmstack_alerts_by_country",
		help: "Alerts matching the query, by adversary country code; beyond top_countries summed as other, without geolocation as unknown.", labels: []string{"query", "country"}}
	upFamily = &roundFamily{name: "utmstack_up",
		help: "1 when UTMStack answered and authentication succeeded during this scrape."}
	queryUpFamily = &roundFamily{name: "utmstack_query_up",
		help: "1 when every call of this query succeeded during this scrape.", labels: []string{"query"}}
	queryDurationFamily = &roundFamily{name: "utmstack_query_duration_seconds",
		help: "Time the query's calls to UTMStack took during this scrape's round.", labels: []string{"query"}}
	queryLastSuccessFamily = &roundFamily{name: "utmstack_query_last_success_timestamp_seconds",
		help: "Unix time of the query's last successful round; 0 until the first.", labels: []string{"query"}}
)

// The scrape duration is built per scrape straight as a protobuf family (see
// scrapeDurationFamily), so it has a name and help rather than a Desc.
const (
	scrapeDurationName = "utmstack_scrape_duration_seconds"
	scrapeDurationHelp = "Time this scrape took, waiting for a shared round included."
)

// breakdownFamilies maps a breakdown kind to its metric.
var breakdownFamilies = map[string]*roundFamily{
	bySeverity: alertsBySeverityFamily,
	byStatus:   alertsByStatusFamily,
	byCountry:  alertsByCountryFamily,
}

// Metrics are the exporter's own counters. They live as long as the process,
// across reloads and new clients, and are registered once.
type Metrics struct {
	authFailures     *prometheus.CounterVec
	logins           prometheus.Counter
	upstreamRequests *prometheus.CounterVec
}

// ProcessMetrics are counted once per process, beside the /metrics target's
// counters.
type ProcessMetrics struct {
	*Metrics
	unknownTarget prometheus.Counter
}

// NewProcessMetrics creates the /metrics target's counters and the
// process-wide ones and registers them on reg.
func NewProcessMetrics(reg prometheus.Registerer) *ProcessMetrics {
	m := &ProcessMetrics{
		Metrics: NewMetrics(reg),
		unknownTarget: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "exporter", Name: "probe_unknown_target_total",
			Help: "Probes refused because the target is not a name from the configuration.",
		}),
	}
	reg.MustRegister(m.unknownTarget)
	return m
}

// NewMetrics creates the counters and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "exporter", Name: "auth_failures_total",
			Help: "Failed authentications against UTMStack, by reason.",
		}, []string{"reason"}),
		logins: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "exporter", Name: "logins_total",
			Help: "Successful password logins to UTMStack.",
		}),
		upstreamRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "exporter", Name: "upstream_requests_total",
			Help: "HTTP requests made to UTMStack, by endpoint and status code (error: no answer).",
		}, []string{"endpoint", "code"}),
	}
	for _, r := range utmstack.Reasons {
		m.authFailures.WithLabelValues(string(r))
	}
	reg.MustRegister(m.authFailures, m.logins, m.upstreamRequests)
	return m
}

// Hooks connect a UTMStack client to these counters.
func (m *Metrics) Hooks() utmstack.Hooks {
	return utmstack.Hooks{
		Request: func(endpoint string, code int) {
			label := "error"
			if code != 0 {
				label = strconv.Itoa(code)
			}
			m.upstreamRequests.WithLabelValues(endpoint, label).Inc()
		},
		Login:       m.logins.Inc,
		AuthFailure: func(r utmstack.Reason) { m.authFailures.WithLabelValues(string(r)).Inc() },
	}
}
