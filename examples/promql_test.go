package examples

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// promQL is one PromQL expression of the dashboard, where it is, and the
// variables ($job, $instance) its selectors need not filter by.
type promQL struct {
	where, expr string
	skip        []string
}

// checkPromQL holds expressions to the dashboard linter's PromQL rules:
// promtool (Prometheus' own parser) accepts each, every selector
// (selectorsOf) carries
// job=~"$job" and instance=~"$instance", rate and irate run over
// $__rate_interval, and counters appear only inside rate, irate or
// increase.
func checkPromQL(t *testing.T, exprs []promQL) {
	t.Helper()
	for _, e := range exprs {
		for _, problem := range promQLProblems(e.expr, e.skip) {
			t.Errorf("%s: %s: %s", e.where, e.expr, problem)
		}
	}
	t.Run("promtool", func(t *testing.T) {
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Skip("promtool is not installed (Debian package prometheus; make test installs it)")
		}
		for _, e := range promtoolRejects(t, promtool, exprs) {
			t.Errorf("%s: Prometheus' parser rejects %s", e.where, e.expr)
		}
	})
}

// promtoolRejects writes the expressions, their Grafana variables
// expanded, as recording rules and returns those promtool check rules
// rejects.
func promtoolRejects(t *testing.T, promtool string, exprs []promQL) []promQL {
	t.Helper()
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	rules := make([]rule, len(exprs))
	for i, e := range exprs {
		rules[i] = rule{Record: fmt.Sprintf("dashboard:expression_%d", i), Expr: expand(e.expr)}
	}
	data, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err == nil {
		return nil
	}
	var rejected []promQL
	for i, r := range rules {
		if strings.Contains(string(out), strconv.Quote(r.Record)) {
			rejected = append(rejected, exprs[i])
		}
	}
	if len(rejected) == 0 {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	t.Logf("promtool check rules:\n%s", out)
	return rejected
}

// promQLProblems returns what an expression, its Grafana variables
// expanded, breaks of the linter's selector, rate and counter rules.
func promQLProblems(expr string, skip []string) []string {
	sels, err := selectorsOf(expand(expr))
	if err != nil {
		return []string{fmt.Sprintf("cannot read it: %v", err)}
	}
	var problems []string
	for _, s := range sels {
		name := ""
		for _, m := range s.matchers {
			if m.name == "__name__" && m.op == "=" {
				name = m.value
			}
		}
		for _, want := range []string{"$job", "$instance"} {
			label := strings.TrimPrefix(want, "$")
			if !slices.Contains(skip, want) && !slices.Contains(s.matchers, matcher{label, "=~", want}) {
				problems = append(problems, fmt.Sprintf("the selector %s has no %s=~%q", s, label, want))
			}
		}
		if (s.call == "rate" || s.call == "irate") && s.rng != "" && s.rng != rateIntervalSample {
			problems = append(problems, fmt.Sprintf("%s(...) over [%s]; use [$__rate_interval]", s.call, s.rng))
		}
		if strings.HasSuffix(name, "_total") && (s.rng == "" || !slices.Contains([]string{"rate", "irate", "increase"}, s.call)) {
			problems = append(problems, fmt.Sprintf("the counter %s is not inside rate, irate or increase", name))
		}
	}
	return problems
}

// The checks find what they are there to find.
func TestPromQLChecksFindProblems(t *testing.T) {
	const jobAndInstance = `job=~"$job", instance=~"$instance"`
	for _, tc := range []struct {
		expr string
		skip []string
		want []string
	}{
		{expr: `sum by (instance, code) (rate(x_total{` + jobAndInstance + `}[$__rate_interval]))`},
		{expr: `time() - (y{` + jobAndInstance + `} > 0) offset 5m`},
		{expr: `up{job=~"$job"}`, skip: []string{"$instance"}},
		{expr: `rate(x_total{` + jobAndInstance + `}[5m])`, want: []string{"rate(...) over [5m]; use [$__rate_interval]"}},
		{expr: `x_total{` + jobAndInstance + `}`, want: []string{"the counter x_total is not inside rate, irate or increase"}},
		{expr: `sum(up{job=~"$job"})`, want: []string{`the selector up{job=~"$job"} has no instance=~"$instance"`}},
		{expr: `up{` + jobAndInstance + `} / on (job) group_left level:metric:sum`, want: []string{
			`the selector level:metric:sum has no job=~"$job"`, `the selector level:metric:sum has no instance=~"$instance"`}},
		{expr: `sum without (a) ({job="$job", instance=~"$instance"})`, want: []string{`the selector {job="$job", instance=~"$instance"} has no job=~"$job"`}},
	} {
		if got := promQLProblems(tc.expr, tc.skip); !slices.Equal(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.expr, got, tc.want)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus; make test installs it)")
	}
	good := promQL{where: "good", expr: `sum by (job) (rate(x_total{job=~"$job"}[$__rate_interval]))`}
	bad := promQL{where: "bad", expr: `sum by (job) (rate(x_total{job=~"$job"}[$__rate_interval])`}
	if got := promtoolRejects(t, promtool, []promQL{good, bad, good}); len(got) != 1 || got[0].where != "bad" {
		t.Errorf("promtool rejected %v, want only the unbalanced expression", got)
	}
}
