package collector

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/round"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// The descriptors of a round's metrics. The breakdowns' own descriptors are
// built once per list of queries (familiesOf), one per breakdown name.
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
	oldestDesc = prometheus.NewDesc("utmstack_alerts_oldest_timestamp_seconds",
		"Unix time (@timestamp) of the oldest alert matching the query; absent when none matches.", []string{"query"}, nil)
	newestDesc = prometheus.NewDesc("utmstack_alerts_newest_timestamp_seconds",
		"Unix time (@timestamp) of the newest alert matching the query; absent when none matches.", []string{"query"}, nil)
)

// queryHealth are the series every query has in every scrape, failed or
// not: a table of descriptors and the functions that give their values.
var queryHealth = []struct {
	desc  *prometheus.Desc
	value func(q round.QueryResult, lastSuccess time.Time) float64
}{
	{
		prometheus.NewDesc("utmstack_query_up", "1 when every call of this query succeeded during this scrape.", []string{"query"}, nil),
		func(q round.QueryResult, _ time.Time) float64 { return boolValue(q.OK) },
	},
	{
		prometheus.NewDesc("utmstack_query_duration_seconds", "Time the query's calls to UTMStack took during this scrape's round.", []string{"query"}, nil),
		func(q round.QueryResult, _ time.Time) float64 { return q.Duration.Seconds() },
	},
	{
		prometheus.NewDesc("utmstack_query_last_success_timestamp_seconds", "Unix time of the query's last successful round; 0 until the first.", []string{"query"}, nil),
		func(_ round.QueryResult, last time.Time) float64 {
			if last.IsZero() {
				return 0
			}
			return float64(last.UnixNano()) / 1e9
		},
	},
}

// queryFamilies are the breakdown and age families of one query, as its
// `by` and `ages`.
type queryFamilies struct {
	breakdowns []breakdownFamily
	ages       []*prometheus.Desc
}

type breakdownFamily struct {
	name string
	desc *prometheus.Desc
}

// familiesOf describes the families of each query, in the same order.
func familiesOf(queries []config.Query) []queryFamilies {
	families := make([]queryFamilies, len(queries))
	for i, q := range queries {
		for _, b := range q.By {
			families[i].breakdowns = append(families[i].breakdowns, breakdownFamily{b.Name, breakdownDesc(b)})
		}
		for _, age := range q.Ages {
			desc := newestDesc
			if age == config.AgeOldest {
				desc = oldestDesc
			}
			families[i].ages = append(families[i].ages, desc)
		}
	}
	return families
}

// breakdownDescs holds one descriptor per breakdown family and help text,
// shared by every query and target that has it: a desc is some hundreds of
// bytes, and a thousand targets would each build their own. It only grows
// when a reload brings a breakdown not seen before.
var breakdownDescs sync.Map // [2]string{name, help} -> *prometheus.Desc

// breakdownDesc describes a breakdown's family. Its help depends only on
// the breakdown, so queries sharing one share the family.
func breakdownDesc(b config.Breakdown) *prometheus.Desc {
	var help string
	switch b.Name {
	case config.BySeverity:
		help = "Alerts matching the query, by severity (low, medium, high; unknown when seen)."
	case config.ByStatus:
		help = "Alerts matching the query, by status (automatic_review, open, in_review, completed; ignored and unknown when seen)."
	case config.ByCountry:
		help = "Alerts matching the query, by adversary country code; beyond top_countries summed as other, without geolocation as unknown."
	default:
		help = fmt.Sprintf("Alerts matching the query, by %s: the %d most frequent values, and other for every other alert (those without the field included).", b.Field, b.Top)
	}
	key := [2]string{b.Name, help}
	if d, ok := breakdownDescs.Load(key); ok {
		return d.(*prometheus.Desc)
	}
	d, _ := breakdownDescs.LoadOrStore(key, prometheus.NewDesc("utmstack_alerts_by_"+b.Name, help, []string{"query", b.Name}, nil))
	return d.(*prometheus.Desc)
}

// roundCollector exports one scrape's round as const metrics.
type roundCollector struct {
	url            string          // scheme://host[:port], never a credential
	families       []queryFamilies // as the round's queries
	result         *round.Result
	successes      map[string]time.Time
	scrapeDuration time.Duration
}

// Describe sends nothing: the breakdown families follow the configuration,
// so the collector is unchecked. The registry still checks every series.
func (roundCollector) Describe(chan<- *prometheus.Desc) {}

func (c roundCollector) Collect(ch chan<- prometheus.Metric) {
	gauge(ch, targetInfoDesc, 1, c.url)
	gauge(ch, upDesc, boolValue(c.result.Up))
	gauge(ch, scrapeDurationDesc, c.scrapeDuration.Seconds())
	for i, q := range c.result.Queries {
		for _, m := range queryHealth {
			gauge(ch, m.desc, m.value(q, c.successes[q.Name]), q.Name)
		}
		if !q.OK {
			// A failed query's data is left out, never served stale.
			continue
		}
		gauge(ch, alertsDesc, float64(q.Total), q.Name)
		for _, b := range c.families[i].breakdowns {
			for _, v := range q.Series[b.name] {
				gauge(ch, b.desc, float64(v.Count), q.Name, v.Label)
			}
		}
		for j, desc := range c.families[i].ages {
			if a := q.Ages[j]; a.Found {
				gauge(ch, desc, float64(a.At.UnixNano())/1e9, q.Name)
			}
		}
	}
	if in := c.result.Incidents; in != nil {
		gauge(ch, incidentsUpDesc, boolValue(in.Err == nil))
		if in.Err == nil {
			for i, status := range utmstack.IncidentStatuses {
				gauge(ch, incidentsDesc, float64(in.Counts[i]), strings.ToLower(status))
			}
		}
	}
	for pattern, n := range c.result.IndexAlerts {
		gauge(ch, indexAlertsDesc, float64(n), pattern)
	}
	if v := c.result.Version; v != "" {
		gauge(ch, infoDesc, 1, v)
	}
	collectCoverage(ch, c.result.Coverage)
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
