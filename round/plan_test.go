package round

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

func TestQueryPlan(t *testing.T) {
	q := config.Query{
		Name: "open", IndexPattern: "v11-alert-*", Window: 7 * 24 * time.Hour, WindowRounding: time.Minute,
		ExcludeFalsePositives: true, ExcludeEchoes: true, TopCountries: 20,
		Fields:  config.Fields{Severity: "severity", Status: "status", Country: "adversary.geolocation.countryCode.keyword"},
		Filters: []utmstack.Filter{{Field: "status", Operator: "IS", Value: 2}},
		By: []config.Breakdown{{Name: "country", Field: "adversary.geolocation.countryCode.keyword", Top: 20},
			{Name: "severity", Field: "severity"}, {Name: "rule", Field: "name.keyword", Top: 10}},
		Ages: []string{"oldest"},
	}
	p := newQueryPlan(q)
	wantFilters := []utmstack.Filter{
		{Field: "@timestamp", Operator: "IS_BETWEEN", Value: []any{"now-168h/m", "now/m"}},
		{Field: "tags", Operator: "IS_NOT", Value: "False positive"},
		{Field: "parentId", Operator: "DOES_NOT_EXIST"},
		{Field: "status", Operator: "IS", Value: 2},
	}
	var order []string
	for _, b := range p.breakdowns {
		order = append(order, fmt.Sprintf("%s@%d", b.Name, b.call))
	}
	if !reflect.DeepEqual(order, []string{"country@1", "severity@2", "rule@3"}) {
		t.Fatalf("breakdowns and their calls = %v", order)
	}
	if len(p.ages) != 1 || !p.ages[0].oldest || !reflect.DeepEqual(p.filters, wantFilters) {
		t.Fatalf("ages %+v, filters %+v", p.ages, p.filters)
	}
	wantFields := []string{"status", "adversary.geolocation.countryCode.keyword", "severity", "name.keyword"}
	for i, call := range p.calls {
		if call.Field != wantFields[i] || call.Index != "v11-alert-*" || !reflect.DeepEqual(call.Filters, wantFilters) {
			t.Errorf("call %d = %+v", i, call)
		}
	}
	// Enough buckets for exact counts: every country, and 5 x top values of a field.
	if p.calls[1].Top != countryBuckets || p.calls[3].Top != 50 || p.calls[2].Top != enumBuckets {
		t.Errorf("calls ask for %d, %d and %d buckets", p.calls[1].Top, p.calls[2].Top, p.calls[3].Top)
	}
}

func TestWindowWithoutRounding(t *testing.T) {
	p := newQueryPlan(config.Query{Name: "q", Window: 90 * time.Minute, Fields: config.Fields{Status: "status"}})
	want := utmstack.Filter{Field: "@timestamp", Operator: "IS_BETWEEN", Value: []any{"now-90m", "now"}}
	if got := p.calls[0].Filters; len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("filters = %+v, want only %+v", got, want)
	}
}

func TestQueryPlanWithoutDefaults(t *testing.T) {
	p := newQueryPlan(config.Query{Name: "all_time", IndexPattern: "alert-*", Fields: config.Fields{Status: "status"}})
	if len(p.calls) != 1 || p.calls[0].Filters != nil {
		t.Fatalf("want one unfiltered status call, got %+v", p.calls)
	}
}

func TestDateMathDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour:   "24h",
		90 * time.Minute: "90m",
		90 * time.Second: "90s",
		time.Millisecond: "1s",
	} {
		if got := dateMathDuration(d); got != want {
			t.Errorf("dateMathDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
