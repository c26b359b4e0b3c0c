package collector

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Bucket counts asked of UTMStack per breakdown. Severity and status have a
// handful of values; about 250 countries exist, and asking for more buckets
// than there are values is what makes a terms aggregation exact. For any
// other field, 5 x top buckets (at most 500) make a misjudged top value
// unlikely; the exporter keeps the top itself.
const (
	enumBuckets    = 20
	countryBuckets = 500
	bucketsPerTop  = 5
	maxBuckets     = 500
)

// queryPlan is a configured query turned, once at load time, into the
// requests a round sends for it and the families it exports.
type queryPlan struct {
	query config.Query
	// calls[0] is always on the status field: every alert has a status,
	// so its buckets sum to the exact total. The other breakdowns follow
	// in `by` order.
	calls      []utmstack.ValuesRequest
	breakdowns []breakdownPlan // in `by` order
	filters    []utmstack.Filter
	ages       []agePlan
}

// breakdownPlan is one breakdown family a query exports.
type breakdownPlan struct {
	config.Breakdown
	call int // index in calls of its buckets
	desc *prometheus.Desc
}

// agePlan is the time of a query's oldest or newest alert.
type agePlan struct {
	oldest bool
	desc   *prometheus.Desc
}

var (
	oldestDesc = prometheus.NewDesc("utmstack_alerts_oldest_timestamp_seconds",
		"Unix time (@timestamp) of the oldest alert matching the query; absent when none matches.", []string{"query"}, nil)
	newestDesc = prometheus.NewDesc("utmstack_alerts_newest_timestamp_seconds",
		"Unix time (@timestamp) of the newest alert matching the query; absent when none matches.", []string{"query"}, nil)
)

// newPlans turns a list of queries into plans. Targets that inherit the
// top-level queries share one list (config), and a reload builds their
// plans once: plans are read-only, so every target can hold the same.
func newPlans(queries []config.Query) []queryPlan {
	plans := make([]queryPlan, len(queries))
	for i, q := range queries {
		plans[i] = newQueryPlan(q)
	}
	return plans
}

// planCache builds each list of queries' plans once, for one Apply. Lists
// are told apart by identity: the targets that inherit the top-level
// queries hold that very slice; an own list gets plans of its own.
type planCache map[planKey][]queryPlan

type planKey struct {
	first *config.Query
	n     int
}

func (c planCache) plans(queries []config.Query) []queryPlan {
	if len(queries) == 0 {
		return nil
	}
	key := planKey{&queries[0], len(queries)}
	plans, ok := c[key]
	if !ok {
		plans = newPlans(queries)
		c[key] = plans
	}
	return plans
}

func newQueryPlan(q config.Query) queryPlan {
	p := queryPlan{query: q, filters: baseFilters(q)}
	add := func(field string, top int) int {
		p.calls = append(p.calls, utmstack.ValuesRequest{Index: q.IndexPattern, Field: field, Filters: p.filters, Top: top})
		return len(p.calls) - 1
	}
	add(q.Fields.Status, enumBuckets)
	for _, b := range q.By {
		bp := breakdownPlan{Breakdown: b, desc: breakdownDesc(b)}
		switch b.Name {
		case config.ByStatus:
			bp.call = 0
		case config.BySeverity:
			bp.call = add(b.Field, enumBuckets)
		case config.ByCountry:
			bp.call = add(b.Field, countryBuckets)
		default:
			bp.call = add(b.Field, min(bucketsPerTop*b.Top, maxBuckets))
		}
		p.breakdowns = append(p.breakdowns, bp)
	}
	for _, age := range q.Ages {
		if age == config.AgeOldest {
			p.ages = append(p.ages, agePlan{oldest: true, desc: oldestDesc})
		} else {
			p.ages = append(p.ages, agePlan{desc: newestDesc})
		}
	}
	return p
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
