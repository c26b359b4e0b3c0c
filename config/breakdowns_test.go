package config

import (
	"reflect"
	"testing"
)

func TestBreakdownsDefinedAndReplaced(t *testing.T) {
	cfg, err := parse(`utmstack: {url: https://h}
breakdowns:
  rule: {field: ruleName.keyword, top: 3}
  data_type: {field: dataType.keyword}
incidents: false
queries:
  - {name: a, by: [rule, data_type, technique, severity], ages: [newest, oldest]}
`, withKey)
	if err != nil {
		t.Fatal(err)
	}
	want := []Breakdown{
		{Name: "rule", Field: "ruleName.keyword", Top: 3},
		{Name: "data_type", Field: "dataType.keyword", Top: 10},
		{Name: "technique", Field: "technique.keyword", Top: 10},
		{Name: "severity", Field: "severity"},
	}
	if q := cfg.Queries[0]; !reflect.DeepEqual(q.By, want) || !reflect.DeepEqual(q.Ages, []string{"newest", "oldest"}) {
		t.Errorf("by %+v, ages %v\nwant %+v", q.By, q.Ages, want)
	}
	if cfg.Incidents {
		t.Error("incidents: false was not read")
	}
	// The built-in set takes the redefined rule breakdown too.
	cfg, err = parse("utmstack: {url: https://h}\nbreakdowns: {rule: {field: ruleName.keyword}}\n", withKey)
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.Queries[0].By[3]; b.Name != "rule" || b.Field != "ruleName.keyword" || !cfg.Incidents {
		t.Errorf("built-in all by %+v, incidents %v", cfg.Queries[0].By, cfg.Incidents)
	}
}

func TestBreakdownAndAgeErrors(t *testing.T) {
	const url = "utmstack: {url: https://h}\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"clashing name", url + "breakdowns: {severity: {field: sev.keyword}}\n",
			`breakdowns.severity: "severity" cannot name a breakdown: severity, status, country, query, job, instance, le, quantile, alertname are taken`},
		{"reserved label", url + "breakdowns: {instance: {field: host.keyword}}\n",
			`breakdowns.instance: "instance" cannot name a breakdown: severity, status, country, query, job, instance, le, quantile, alertname are taken`},
		{"bad name", url + "breakdowns: {Data-Source: {field: dataSource.keyword}}\n",
			`breakdowns.Data-Source: "Data-Source" is not a valid breakdown name: it must match ^[a-z][a-z0-9_]*$ (it becomes the label name and the metric utmstack_alerts_by_<name>)`},
		{"no field", url + "breakdowns: {host: {top: 5}}\n",
			`breakdowns.host.field: required: a keyword or numeric field of the alert documents, e.g. name.keyword`},
		{"top too high", url + "breakdowns: {host: {field: host.keyword, top: 101}}\n",
			`breakdowns.host.top: 101 is out of range; accepted: 1 to 100`},
		{"top zero", url + "breakdowns: {host: {field: host.keyword, top: 0}}\n",
			`breakdowns.host.top: 0 is out of range; accepted: 1 to 100`},
		{"undefined by", url + "queries: [{name: a, by: [host]}]\n",
			`queries[0].by[0]: "host" is not a breakdown; accepted: severity, status, country, category, data_source, rule, technique (define others under breakdowns)`},
		{"unknown age", url + "queries: [{name: a, ages: [latest]}]\n",
			`queries[0].ages[0]: "latest" is not an age; accepted: oldest, newest`},
		{"age twice", url + "queries: [{name: a, ages: [oldest, oldest]}]\n",
			`queries[0].ages[1]: "oldest" is listed twice`},
		{"incidents not a bool", url + "incidents: sometimes\n",
			`incidents: "sometimes" is not accepted; accepted: true, false (line 2)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.yaml, withKey)
			checkErr(t, err, tc.want)
		})
	}
}
