package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Built-in breakdowns by fields of UTMStack v11's alert documents; one of
// the same name under `breakdowns` replaces one.
var builtInBreakdowns = map[string]Breakdown{
	"rule":        {Name: "rule", Field: "name.keyword", Top: defaultBreakdownTop},
	"category":    {Name: "category", Field: "category.keyword", Top: defaultBreakdownTop},
	"data_source": {Name: "data_source", Field: "dataSource.keyword", Top: defaultBreakdownTop},
	"technique":   {Name: "technique", Field: "technique.keyword", Top: defaultBreakdownTop},
}

const defaultBreakdownTop, maxBreakdownTop = 10, 100

// reservedBreakdownNames cannot name a breakdown: the three with values of
// their own, the query label, and labels Prometheus gives a meaning.
var reservedBreakdownNames = []string{BySeverity, ByStatus, ByCountry, "query", "job", "instance", "le", "quantile", "alertname"}

func resolveBreakdowns(p *problems, raws map[string]rawBreakdown) map[string]Breakdown {
	out := maps.Clone(builtInBreakdowns)
	for _, name := range slices.Sorted(maps.Keys(raws)) {
		r, key := raws[name], joinKey("breakdowns", name)
		switch {
		case !queryNameRE.MatchString(name):
			p.add(key, "%q is not a valid breakdown name: it must match %s (it becomes the label name and the metric utmstack_alerts_by_<name>)", name, queryNameRE)
			continue
		case slices.Contains(reservedBreakdownNames, name):
			p.add(key, "%q cannot name a breakdown: %s are taken", name, strings.Join(reservedBreakdownNames, ", "))
			continue
		}
		b := Breakdown{Name: name, Field: strings.TrimSpace(r.Field)}
		if b.Field == "" {
			p.add(key+".field", "required: a keyword or numeric field of the alert documents, e.g. name.keyword")
		}
		b.Top = resolveInt(p, key+".top", &r.Top, defaultBreakdownTop, 1, maxBreakdownTop)
		out[name] = b
	}
	return out
}

// resolveBy turns a query's `by` into its breakdowns: severity, status and
// country take the query's fields, any other name one of breakdowns.
func resolveBy(p *problems, key string, by []string, q Query, breakdowns map[string]Breakdown) []Breakdown {
	own := map[string]Breakdown{BySeverity: {Name: BySeverity, Field: q.Fields.Severity}, ByStatus: {Name: ByStatus, Field: q.Fields.Status},
		ByCountry: {Name: ByCountry, Field: q.Fields.Country, Top: q.TopCountries}}
	out := make([]Breakdown, 0, len(by))
	first := map[string]int{}
	for i, name := range by {
		at := fmt.Sprintf("%s[%d]", key, i)
		b, ok := own[name]
		if !ok {
			b, ok = breakdowns[name]
		}
		switch j, dup := first[name]; {
		case dup:
			p.add(at, "%q is listed twice (also at by[%d])", name, j)
		case !ok:
			accepted := append([]string{BySeverity, ByStatus, ByCountry}, slices.Sorted(maps.Keys(breakdowns))...)
			p.add(at, "%q is not a breakdown; accepted: %s (define others under breakdowns)", name, strings.Join(accepted, ", "))
		default:
			first[name] = i
			out = append(out, b)
		}
	}
	return out
}

// resolveAges checks a query's `ages`.
func resolveAges(p *problems, key string, ages []string) []string {
	var out []string
	for i, a := range ages {
		at := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case a != AgeOldest && a != AgeNewest:
			p.add(at, "%q is not an age; accepted: %s, %s", a, AgeOldest, AgeNewest)
		case slices.Contains(out, a):
			p.add(at, "%q is listed twice", a)
		default:
			out = append(out, a)
		}
	}
	return out
}
