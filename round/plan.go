package round

import (
	"fmt"
	"time"

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

// Plan is a configured query turned, once at load time, into the requests
// a round sends for it.
type Plan struct {
	query config.Query
	// calls[0] is always on the status field: every alert has a status,
	// so its buckets sum to the exact total. The other breakdowns follow
	// in `by` order.
	calls      []utmstack.ValuesRequest
	breakdowns []breakdownPlan // in `by` order
	filters    []utmstack.Filter
	ages       []agePlan
}

// Query is the configured query the plan asks for.
func (p Plan) Query() config.Query { return p.query }

// breakdownPlan is one breakdown a query counts.
type breakdownPlan struct {
	config.Breakdown
	call int // index in calls of its buckets
}

// agePlan is the time of a query's oldest alert, or else its newest.
type agePlan struct{ oldest bool }

// NewPlans turns queries into plans, in the same order. Plans are read-only:
// targets that inherit the same queries can share them.
func NewPlans(queries []config.Query) []Plan {
	plans := make([]Plan, len(queries))
	for i, q := range queries {
		plans[i] = newQueryPlan(q)
	}
	return plans
}

func newQueryPlan(q config.Query) Plan {
	p := Plan{query: q, filters: baseFilters(q)}
	add := func(field string, top int) int {
		p.calls = append(p.calls, utmstack.ValuesRequest{Index: q.IndexPattern, Field: field, Filters: p.filters, Top: top})
		return len(p.calls) - 1
	}
	add(q.Fields.Status, enumBuckets)
	for _, b := range q.By {
		bp := breakdownPlan{Breakdown: b}
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
		p.ages = append(p.ages, agePlan{oldest: age == config.AgeOldest})
	}
	return p
}

// baseFilters are the defaults a query inherits, then its own filters. They
// mirror UTMStack's alert view: a time window, no false positives, no echoes.
func baseFilters(q config.Query) []utmstack.Filter {
	var filters []utmstack.Filter
	if q.Window > 0 {
		from, to := "now-"+dateMathDuration(q.Window), "now"
		if unit := config.RoundingUnit(q.WindowRounding); unit != "" {
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
