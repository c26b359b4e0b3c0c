package collector

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// The descriptors of a round's metrics. The breakdowns' own descriptors are
// built with each query plan (plan.go), one per breakdown name.
var (
	upDesc = prometheus.NewDesc("utmstack_up",
		"1 when UTMStack answered and authentication succeeded during this scrape.", nil, nil)
	scrapeDurationDesc = prometheus.NewDesc("utmstack_scrape_duration_seconds",
		"Time this scrape took, waiting for a shared round included.", nil, nil)
	targetInfoDesc = prometheus.NewDesc("utmstack_exporter_target_info",
		"1: the UTMStack this answer is about (scheme://host[:port]), for alert rules and panels to name it.", []string{"url"}, nil)
	alertsDesc = prometheus.NewDesc("utmstack_alerts",
		"Alerts matching the query.", []string{"query"}, nil)
	incidentsDesc = prometheus.NewDesc("utmstack_incidents",
		"UTMStack incidents by status, all time.", []string{"status"}, nil)
	incidentsUpDesc = prometheus.NewDesc("utmstack_incidents_up",
		"1 when the incident counts were read during this scrape.", nil, nil)
	indexAlertsDesc = prometheus.NewDesc("utmstack_index_alerts",
		"Every alert the index pattern holds, all time and unfiltered, read at most every 5 minutes; 0 means a wrong pattern or an instance that never raised an alert.", []string{"index_pattern"}, nil)
	infoDesc = prometheus.NewDesc("utmstack_info",
		"1, with UTMStack's own version (build.version of /management/info), read at most every 10 minutes.", []string{"version"}, nil)
)

// queryHealth are the series every query has in every scrape, failed or
// not: a table of descriptors and the functions that give their values.
var queryHealth = []struct {
	desc  *prometheus.Desc
	value func(q queryResult, lastSuccess time.Time) float64
}{
	{
		prometheus.NewDesc("utmstack_query_up", "1 when every call of this query succeeded during this scrape.", []string{"query"}, nil),
		func(q queryResult, _ time.Time) float64 { return boolValue(q.ok) },
	},
	{
		prometheus.NewDesc("utmstack_query_duration_seconds", "Time the query's calls to UTMStack took during this scrape's round.", []string{"query"}, nil),
		func(q queryResult, _ time.Time) float64 { return q.duration.Seconds() },
	},
	{
		prometheus.NewDesc("utmstack_query_last_success_timestamp_seconds", "Unix time of the query's last successful round; 0 until the first.", []string{"query"}, nil),
		func(_ queryResult, last time.Time) float64 {
			if last.IsZero() {
				return 0
			}
			return float64(last.UnixNano()) / 1e9
		},
	},
}

// roundCollector exports one scrape's round as const metrics.
type roundCollector struct {
	url            string // scheme://host[:port], never a credential
	plans          []queryPlan
	result         *roundResult
	successes      map[string]time.Time
	scrapeDuration time.Duration
}

// Describe sends nothing: the breakdown families follow the configuration,
// so the collector is unchecked. The registry still checks every series.
func (roundCollector) Describe(chan<- *prometheus.Desc) {}

func (c roundCollector) Collect(ch chan<- prometheus.Metric) {
	gauge(ch, targetInfoDesc, 1, c.url)
	gauge(ch, upDesc, boolValue(c.result.up))
	gauge(ch, scrapeDurationDesc, c.scrapeDuration.Seconds())
	for i, q := range c.result.queries {
		for _, m := range queryHealth {
			gauge(ch, m.desc, m.value(q, c.successes[q.name]), q.name)
		}
		if !q.ok {
			// A failed query's data is left out, never served stale.
			continue
		}
		gauge(ch, alertsDesc, float64(q.total), q.name)
		for _, b := range c.plans[i].breakdowns {
			for _, v := range q.series[b.Name] {
				gauge(ch, b.desc, float64(v.count), q.name, v.label)
			}
		}
		for j, age := range c.plans[i].ages {
			if a := q.ages[j]; a.found {
				gauge(ch, age.desc, float64(a.at.UnixNano())/1e9, q.name)
			}
		}
	}
	if in := c.result.incidents; in != nil {
		gauge(ch, incidentsUpDesc, boolValue(in.err == nil))
		if in.err == nil {
			for i, status := range utmstack.IncidentStatuses {
				gauge(ch, incidentsDesc, float64(in.counts[i]), strings.ToLower(status))
			}
		}
	}
	for pattern, n := range c.result.indexAlerts {
		gauge(ch, indexAlertsDesc, float64(n), pattern)
	}
	if v := c.result.version; v != "" {
		gauge(ch, infoDesc, 1, v)
	}
}

// gauge sends one gauge, or the error that makes it unexportable (the
// registry reports it and serves the rest).
func gauge(ch chan<- prometheus.Metric, desc *prometheus.Desc, value float64, labels ...string) {
	m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, value, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
