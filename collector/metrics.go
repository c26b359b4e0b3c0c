// Package collector turns UTMStack alert counts into Prometheus metrics.
package collector

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

const namespace = "utmstack"

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
