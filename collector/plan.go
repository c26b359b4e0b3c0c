package collector

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Bucket counts asked of UTMStack per breakdown. Severity and status have a
// handful of values; about 250 countries exist, and asking for more buckets
// than there are values is what makes a terms aggregation exact.
const (
	severityBuckets = 20
	statusBuckets   = 20
	countryBuckets  = 500
)

// queryPlan is a configured query turned, once at load time, into the
// values-with-count requests a round sends for it.
type queryPlan struct {
	query config.Query
	// calls[0] is always the status breakdown: every alert has a status,
	// so its buckets sum to the exact total. The others follow in `by` order.
	calls []utmstack.ValuesRequest
	kinds []string // breakdown of each call
	// breakdowns are the exported breakdown families, in `by` order.
	breakdowns []breakdownPlan
}

// breakdownPlan is one breakdown family a query exports.
type breakdownPlan struct {
	name string // the label name, and the metric name's suffix
	desc *prometheus.Desc
}

// breakdownHelp describes the built-in breakdowns' families.
var breakdownHelp = map[string]string{
	config.BySeverity: "Alerts matching the query, by severity (low, medium, high; unknown when seen).",
	config.ByStatus:   "Alerts matching the query, by status (automatic_review, open, in_review, completed; ignored and unknown when seen).",
	config.ByCountry:  "Alerts matching the query, by adversary country code; beyond top_countries summed as other, without geolocation as unknown.",
}

func newQueryPlan(q config.Query) queryPlan {
	filters := baseFilters(q)
	p := queryPlan{query: q}
	add := func(kind, field string, top int) {
		p.calls = append(p.calls, utmstack.ValuesRequest{Index: q.IndexPattern, Field: field, Filters: filters, Top: top})
		p.kinds = append(p.kinds, kind)
	}
	add(config.ByStatus, q.Fields.Status, statusBuckets)
	if slices.Contains(q.By, config.BySeverity) {
		add(config.BySeverity, q.Fields.Severity, severityBuckets)
	}
	if slices.Contains(q.By, config.ByCountry) {
		add(config.ByCountry, q.Fields.Country, countryBuckets)
	}
	for _, name := range q.By {
		p.breakdowns = append(p.breakdowns, breakdownPlan{name: name,
			desc: prometheus.NewDesc("utmstack_alerts_by_"+name, breakdownHelp[name], []string{"query", name}, nil)})
	}
	return p
}

func (p queryPlan) wants(kind string) bool { return slices.Contains(p.query.By, kind) }

// baseFilters are the defaults a query inherits, then its own filters. They
// mirror UTMStack's alert view: a time window, no false positives, no echoes.
func baseFilters(q config.Query) []utmstack.Filter {
	var filters []utmstack.Filter
	if q.Window > 0 {
		from, to := "now-"+dateMathDuration(q.Window), "now"
		if unit := roundingUnit(q.WindowRounding); unit != "" {
			// OpenSearch rounds gte down and lte up: the window widens by
			// less than one step and repeated scrapes send the same query,
			// which its request cache can answer.
			from, to = from+"/"+unit, to+"/"+unit
		}
		filters = append(filters, utmstack.Filter{Field: "@timestamp", Operator: "IS_BETWEEN", Value: []any{from, to}})
	}
	if q.ExcludeFalsePositives {
		filters = append(filters, utmstack.Filter{Field: "tags", Operator: "IS_NOT", Value: "False positive"})
	}
	if q.ExcludeEchoes {
		filters = append(filters, utmstack.Filter{Field: "parentId", Operator: "DOES_NOT_EXIST"})
	}
	return append(filters, q.Filters...)
}

// roundingUnit is the date math unit of a rounding step config accepted.
func roundingUnit(step time.Duration) string {
	switch step {
	case time.Second:
		return "s"
	case time.Minute:
		return "m"
	case time.Hour:
		return "h"
	case 24 * time.Hour:
		return "d"
	}
	return ""
}

// dateMathDuration writes d in OpenSearch date math in the largest exact
// unit among h, m and s (days and years are calendar units there).
func dateMathDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", max(d/time.Second, 1))
}
