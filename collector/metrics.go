// Package collector turns UTMStack alert counts into Prometheus metrics.
package collector

import (
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

const namespace = "utmstack"

var (
	authFailuresDesc = prometheus.NewDesc("utmstack_exporter_auth_failures_total",
		"Failed authentications against UTMStack, by reason.", []string{"reason"}, nil)
	loginsDesc = prometheus.NewDesc("utmstack_exporter_logins_total",
		"Successful password logins to UTMStack.", nil, nil)
	upstreamRequestsDesc = prometheus.NewDesc("utmstack_exporter_upstream_requests_total",
		"HTTP requests made to UTMStack, by endpoint and status code (error: no answer).", []string{"endpoint", "code"}, nil)
)

// Metrics are the counters of one UTMStack's client, kept across reloads and
// new clients. They are exported as const metrics, created timestamps
// included, rather than as client_golang counters: those hold their labels
// as protobuf, about 6 KB per /probe target; these take under 1 KB.
type Metrics struct {
	authFailures []counter // as utmstack.Reasons, every one from the start
	logins       counter

	mu       sync.Mutex
	requests map[requestKey]*counter // created on the first request
}

type counter struct {
	n       atomic.Uint64
	created time.Time
}

type requestKey struct {
	endpoint string
	code     int // 0: no answer
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
		Metrics: newMetrics(),
		unknownTarget: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "exporter", Name: "probe_unknown_target_total",
			Help: "Probes refused because the target is not a name from the configuration.",
		}),
	}
	reg.MustRegister(m.Metrics, m.unknownTarget)
	return m
}

// newMetrics creates the counters; a /probe target's are collected with each
// answer (Exporter.serve) rather than registered.
func newMetrics() *Metrics {
	now := time.Now()
	m := &Metrics{authFailures: make([]counter, len(utmstack.Reasons)), requests: map[requestKey]*counter{}}
	m.logins.created = now
	for i := range m.authFailures {
		m.authFailures[i].created = now
	}
	return m
}

// Hooks connect a UTMStack client to these counters.
func (m *Metrics) Hooks() utmstack.Hooks {
	return utmstack.Hooks{
		Request: m.request,
		Login:   func() { m.logins.n.Add(1) },
		AuthFailure: func(r utmstack.Reason) {
			// utmstack.Reasons lists every Reason.
			if i := slices.Index(utmstack.Reasons, r); i >= 0 {
				m.authFailures[i].n.Add(1)
			}
		},
	}
}

func (m *Metrics) request(endpoint string, code int) {
	key := requestKey{endpoint, code}
	m.mu.Lock()
	c := m.requests[key]
	if c == nil {
		c = &counter{created: time.Now()}
		m.requests[key] = c
	}
	m.mu.Unlock()
	c.n.Add(1)
}

func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- authFailuresDesc
	ch <- loginsDesc
	ch <- upstreamRequestsDesc
}

func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for i, r := range utmstack.Reasons {
		ch <- m.authFailures[i].metric(authFailuresDesc, string(r))
	}
	ch <- m.logins.metric(loginsDesc)
	m.mu.Lock()
	requests := maps.Clone(m.requests) // not held while the registry reads
	m.mu.Unlock()
	for key, c := range requests {
		code := "error"
		if key.code != 0 {
			code = strconv.Itoa(key.code)
		}
		ch <- c.metric(upstreamRequestsDesc, key.endpoint, code)
	}
}

func (c *counter) metric(desc *prometheus.Desc, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetricWithCreatedTimestamp(desc, prometheus.CounterValue, float64(c.n.Load()), c.created, labels...)
}
