package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeCollector exports one scrape's round result. It lives in a registry
// made for that request, so each scrape can carry its own deadline.
type scrapeCollector struct {
	result    *roundResult
	successes map[string]time.Time
	duration  time.Duration
}

func (s scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{alertsDesc, alertsBySeverityDesc, alertsByStatusDesc, alertsByCountryDesc,
		upDesc, queryUpDesc, queryDurationDesc, queryLastSuccessDesc, scrapeDurationDesc} {
		ch <- d
	}
}

func (s scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, boolValue(s.result.up))
	for _, q := range s.result.queries {
		ch <- prometheus.MustNewConstMetric(queryUpDesc, prometheus.GaugeValue, boolValue(q.ok), q.name)
		ch <- prometheus.MustNewConstMetric(queryDurationDesc, prometheus.GaugeValue, q.duration.Seconds(), q.name)
		var lastSuccess float64
		if ts, ok := s.successes[q.name]; ok {
			lastSuccess = float64(ts.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(queryLastSuccessDesc, prometheus.GaugeValue, lastSuccess, q.name)
		if !q.ok {
			// A failed query's data is left out, never served stale.
			continue
		}
		ch <- prometheus.MustNewConstMetric(alertsDesc, prometheus.GaugeValue, float64(q.total), q.name)
		for kind, values := range q.series {
			for _, v := range values {
				ch <- prometheus.MustNewConstMetric(breakdownDescs[kind], prometheus.GaugeValue, float64(v.count), q.name, v.label)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, s.duration.Seconds())
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
