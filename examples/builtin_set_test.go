package examples

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The configuration of the quick start, the Kubernetes ConfigMap and the
// container image: UTMStack's address and credentials, nothing else, so the
// built-in queries.
const builtInConfig = "utmstack:\n  url: %URL%\n  auth:\n    username: " + fakeUser + "\n"

// optionalSelectors are the selectors of alerts.yml that match nothing with
// the built-in queries by design, each with the reason. Only the right side
// of an unless may be one: there, nothing means "no exception".
var optionalSelectors = map[string]string{
	`UTMStackTriageTargetMissed: utmstack_query_up{query="open_high"}`: "unless: it keeps quiet where the exact rule of alerts-open-high.yml has its query",
}

// Every selector of every rule in alerts.yml matches a series the exporter
// exports with the built-in queries: no shipped rule waits for a query
// nobody configured.
func TestBuiltInQueriesFeedEveryRule(t *testing.T) {
	rules := readRules(t, "prometheus/alerts.yml")
	series := withRecordingRules(t, exportedSeries(t, builtInConfig), rules)
	used := map[string]bool{}
	checked := 0
	for _, r := range rules {
		name := r.Alert + r.Record
		sels, err := selectorsOf(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, sel := range sels {
			checked++
			key := name + ": " + sel.text
			if _, optional := optionalSelectors[key]; optional {
				used[key] = true
				if !strings.Contains(r.Expr, "unless on (job, instance)\n    last_over_time("+sel.text) &&
					!strings.Contains(r.Expr, "unless on (job, instance)\n              last_over_time("+sel.text) {
					t.Errorf("%s is listed as optional but is not the right side of an unless", key)
				}
				continue
			}
			if !slices.ContainsFunc(series, sel.matches) {
				t.Errorf("%s: %s matches no series of the built-in queries", name, sel)
			}
		}
	}
	if checked < 50 {
		t.Errorf("checked only %d selectors", checked)
	}
	for key, reason := range optionalSelectors {
		if !used[key] {
			t.Errorf("%s is listed as optional (%s) but is not in alerts.yml: take it off the list", key, reason)
		}
	}
}

// Every panel and variable of the dashboard has data with the built-in
// queries, its variables at their defaults and a repeated panel for every
// value of its variable.
func TestBuiltInQueriesFeedEveryPanel(t *testing.T) {
	series := exportedSeries(t, builtInConfig)
	values := checkDashboardWith(t, series)
	if !slices.Equal(values["breakdown"], []string{"rule"}) {
		t.Errorf("breakdowns %v with the built-in queries, want [rule]", values["breakdown"])
	}
}

// The opt-in rule files have data with the queries of the example
// utmstack.yml they name, and so does the dashboard, a "Top 10" panel for
// each breakdown.
func TestExampleQueriesFeedTheOptInRules(t *testing.T) {
	example, err := os.ReadFile("utmstack.yml")
	if err != nil {
		t.Fatal(err)
	}
	password := t.TempDir() + "/password"
	if err := os.WriteFile(password, []byte(fakePassword), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("https://utmstack.example.com", "%URL%", "/etc/utmstack_exporter/password", password).Replace(string(example))
	series := exportedSeries(t, cfg)
	// The opt-in files are loaded beside alerts.yml, and use its recording rules.
	withRecorded := withRecordingRules(t, series, readRules(t, "prometheus/alerts.yml"))
	optIn := 0
	for _, file := range ruleFiles(t) {
		if file == "prometheus/alerts.yml" {
			continue
		}
		optIn++
		for _, r := range readRules(t, file) {
			sels, err := selectorsOf(r.Expr)
			if err != nil {
				t.Errorf("%s, %s: %v", file, r.Alert+r.Record, err)
				continue
			}
			for _, sel := range sels {
				if !slices.ContainsFunc(withRecorded, sel.matches) {
					t.Errorf("%s, %s: %s matches no series of the example utmstack.yml's queries", file, r.Alert+r.Record, sel)
				}
			}
		}
	}
	if optIn == 0 {
		t.Error("no opt-in rule file (prometheus/alerts-*.yml) was checked")
	}
	values := checkDashboardWith(t, series)
	want := []string{"category", "data_source", "rule"}
	if got := slices.Sorted(slices.Values(values["breakdown"])); !slices.Equal(got, want) {
		t.Errorf("breakdowns %v with the example's queries, want %v", got, want)
	}
}

// gVariable is a dashboard variable as Grafana evaluates it.
type gVariable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Regex      string          `json:"regex"`
	AllValue   string          `json:"allValue"`
	IncludeAll bool            `json:"includeAll"`
	Current    struct {
		Value json.RawMessage `json:"value"`
	} `json:"current"`
}

type gPanel struct {
	Title   string   `json:"title"`
	Repeat  string   `json:"repeat"`
	Panels  []gPanel `json:"panels"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

var (
	labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)
	grafanaReference = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)
)

// checkDashboardWith evaluates the dashboard's variables against series as
// Grafana would, then checks that every selector of every panel, with the
// variables at their default values, matches a series. It returns each
// variable's values.
func checkDashboardWith(t *testing.T, series []map[string]string) map[string][]string {
	t.Helper()
	var d struct {
		Templating struct {
			List []gVariable `json:"list"`
		} `json:"templating"`
		Panels []gPanel `json:"panels"`
	}
	if err := json.Unmarshal(readFile(t, "grafana/utmstack.json"), &d); err != nil {
		t.Fatal(err)
	}
	// The values each variable takes in the panels: one, or each value for
	// a panel repeated over it.
	values := map[string][]string{"__rate_interval": {"1m"}}
	expand := func(text string, vars map[string]string) (string, error) {
		var missing error
		out := grafanaReference.ReplaceAllStringFunc(text, func(ref string) string {
			m := grafanaReference.FindStringSubmatch(ref)
			v, ok := vars[m[1]+m[2]+m[3]]
			if !ok {
				missing = fmt.Errorf("%s names no variable", ref)
			}
			return v
		})
		return out, missing
	}
	first := func() map[string]string {
		vars := map[string]string{}
		for name, vs := range values {
			if len(vs) > 0 {
				vars[name] = vs[0]
			}
		}
		return vars
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q.Query) != nil {
			_ = json.Unmarshal(v.Query, &q)
		}
		text, err := expand(q.Query, first())
		m := labelValuesQuery.FindStringSubmatch(text)
		if err != nil || m == nil {
			t.Errorf("variable %s: query %q (%v): want label_values(<selector>, <label>)", v.Name, q.Query, err)
			continue
		}
		sels, err := selectorsOf(m[1])
		if err != nil || len(sels) != 1 {
			t.Errorf("variable %s: %q: %v", v.Name, m[1], err)
			continue
		}
		var found []string
		for _, s := range series {
			value, ok := s[m[2]]
			if !ok || !sels[0].matches(s) {
				continue
			}
			if v.Regex != "" {
				re := regexp.MustCompile(strings.TrimSuffix(strings.TrimPrefix(v.Regex, "/"), "/"))
				sub := re.FindStringSubmatch(value)
				if sub == nil {
					continue
				}
				value = sub[len(sub)-1]
			}
			if !slices.Contains(found, value) {
				found = append(found, value)
			}
		}
		slices.Sort(found)
		if len(found) == 0 {
			t.Errorf("variable %s: %s has no value", v.Name, text)
			continue
		}
		var current string
		var currents []string
		if json.Unmarshal(v.Current.Value, &current) != nil {
			_ = json.Unmarshal(v.Current.Value, &currents)
		} else {
			currents = []string{current}
		}
		switch {
		case slices.Equal(currents, []string{"$__all"}) && v.AllValue != "":
			values[v.Name] = []string{v.AllValue}
		case slices.Equal(currents, []string{"$__all"}) && v.IncludeAll:
			values[v.Name] = found
		default:
			for _, c := range currents {
				if !slices.Contains(found, c) {
					t.Errorf("variable %s: its default %q is not among its values %v", v.Name, c, found)
				}
			}
			values[v.Name] = currents
		}
	}

	checked := 0
	var walk func([]gPanel)
	walk = func(panels []gPanel) {
		for _, p := range panels {
			walk(p.Panels)
			repeats := []map[string]string{first()}
			if p.Repeat != "" {
				repeats = nil
				for _, v := range values[p.Repeat] {
					vars := first()
					vars[p.Repeat] = v
					repeats = append(repeats, vars)
				}
			}
			for _, vars := range repeats {
				for _, tg := range p.Targets {
					where := fmt.Sprintf("panel %q, target %s (%v)", p.Title, tg.RefID, vars)
					expr, err := expand(tg.Expr, vars)
					if err != nil {
						t.Errorf("%s: %v", where, err)
						continue
					}
					sels, err := selectorsOf(expr)
					if err != nil {
						t.Errorf("%s: %v", where, err)
						continue
					}
					for _, sel := range sels {
						checked++
						if !slices.ContainsFunc(series, sel.matches) {
							t.Errorf("%s: %s matches no series", where, sel)
						}
					}
				}
			}
		}
	}
	walk(d.Panels)
	if checked < 25 {
		t.Errorf("checked only %d selectors of the dashboard", checked)
	}
	return values
}
