package charttest

import (
	"os"
	"reflect"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// shippedRules reads examples/prometheus/alerts.yml strictly into the
// operator's type: a field it lacks would be lost in the PrometheusRule.
func shippedRules(t *testing.T) monitoringv1.PrometheusRuleSpec {
	t.Helper()
	data, err := os.ReadFile("../../examples/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	data, err = yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatal(err)
	}
	var spec monitoringv1.PrometheusRuleSpec
	strict, err := sigsjson.UnmarshalStrict(data, &spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range strict {
		t.Errorf("alerts.yml: %v (the PrometheusRule type has no such field)", e)
	}
	return spec
}

// The PrometheusRule carries the shipped rules, with the runbook links
// pointing at runbookBaseURL, and Prometheus accepts them.
func TestPrometheusRuleIsTheShippedRules(t *testing.T) {
	for _, tc := range []struct {
		caseName, name, base string
	}{
		{"rules-and-dashboard-by-default", "utmstack-exporter", "RUNBOOK.md"},
		{"everything", "utmstack", "https://wiki.example.com/soc/utmstack/RUNBOOK.md"},
	} {
		t.Run(tc.caseName, func(t *testing.T) {
			want := shippedRules(t)
			links := 0
			for _, g := range want.Groups {
				for _, r := range g.Rules {
					if _, ok := r.Annotations["runbook_url"]; ok {
						r.Annotations["runbook_url"] = tc.base + "#" + strings.ToLower(r.Alert)
						links++
					}
				}
			}
			if links < 10 {
				t.Fatalf("only %d runbook links in alerts.yml", links)
			}
			got := find[monitoringv1.PrometheusRule](t, render(t, caseNamed(t, tc.caseName)), "PrometheusRule", tc.name)
			if len(got.Spec.Groups) != len(want.Groups) {
				t.Fatalf("%d groups, want %d", len(got.Spec.Groups), len(want.Groups))
			}
			for i := range want.Groups {
				g, w := got.Spec.Groups[i], want.Groups[i]
				if g.Name != w.Name || len(g.Rules) != len(w.Rules) {
					t.Errorf("group %d: %q with %d rules, want %q with %d", i, g.Name, len(g.Rules), w.Name, len(w.Rules))
					continue
				}
				for j := range w.Rules {
					if !reflect.DeepEqual(g.Rules[j], w.Rules[j]) {
						t.Errorf("group %s, rule %d:\n got %+v\nwant %+v", w.Name, j, g.Rules[j], w.Rules[j])
					}
				}
			}

			// What Prometheus gets from the operator: the groups as a rule file.
			file, err := yaml.Marshal(map[string]any{"groups": got.Spec.Groups})
			if err != nil {
				t.Fatal(err)
			}
			p := parser.NewParser(parser.Options{})
			if _, errs := rulefmt.Parse(file, false, model.UTF8Validation, p); len(errs) > 0 {
				t.Errorf("the rendered rules are not valid Prometheus rules: %v", errs)
			}
		})
	}
}
