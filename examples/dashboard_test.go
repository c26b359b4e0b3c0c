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

// The Grafana dashboard is held to the rules of Grafana's dashboard-linter
// (github.com/grafana/dashboard-linter), so that CI keeps what
// `dashboard-linter lint --strict` accepts. The checks are the linter's, in
// places stricter: every panel, whatever its type, needs a templated data
// source, a title, a description and a unit. PromQL is checked by
// Prometheus' own parser, through promtool (promql_test.go).

type dashboard struct {
	Title      string `json:"title"`
	Editable   bool   `json:"editable"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource json.RawMessage `json:"datasource"`
	Multi      bool            `json:"multi"`
	AllValue   string          `json:"allValue"`
	Refresh    int             `json:"refresh"`
}

type panel struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Datasource  json.RawMessage `json:"datasource"`
	Targets     []target        `json:"targets"`
	Panels      []panel         `json:"panels"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	hasTargets bool
}

type target struct {
	Expr  string `json:"expr"`
	RefID string `json:"refId"`
}

func (p *panel) UnmarshalJSON(data []byte) error {
	type plain panel
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(data, (*plain)(p)); err != nil {
		return err
	}
	t, ok := raw["targets"]
	p.hasTargets = ok && string(t) != "null"
	return nil
}

func (p panel) name() string {
	if p.Title != "" {
		return fmt.Sprintf("panel %q", p.Title)
	}
	return fmt.Sprintf("panel id %d", p.ID)
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile("grafana/utmstack.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("the dashboard is not valid JSON of the expected shape: %v", err)
	}
	return d
}

// allPanels flattens rows' nested panels, as the linter does; rows
// themselves are left out (no rule applies to them).
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		if p.Type != "row" {
			out = append(out, p)
		}
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// uid reads a datasource given as a string or as {"uid": ...}.
func uid(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		UID string `json:"uid"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.UID
}

// queryText reads a variable's query, a string or {"query": ...}.
func queryText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.Query
}

// The samples the linter puts for Grafana's interval variables, so that a
// range written as $__rate_interval can be told from any other.
const rateIntervalSample = "8869990787ms"

var (
	grafanaVariable = regexp.MustCompile(`\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)\]\]`)
	intervalSamples = map[string]string{
		"__rate_interval": rateIntervalSample, "__interval": "4867856611ms", "__range": "6069770749ms",
		"__auto": "12345ms", "__interval_ms": "4867856611", "__range_ms": "6069770749", "__range_s": "6069770",
	}
)

// expand replaces the variables outside double-quoted strings, as the
// linter does: inside quotes they stay as written (job=~"$job").
func expand(expr string) string {
	parts := strings.Split(expr, `"`)
	for i := 0; i < len(parts); i += 2 {
		parts[i] = grafanaVariable.ReplaceAllStringFunc(parts[i], func(v string) string {
			m := grafanaVariable.FindStringSubmatch(v)
			name := m[1] + m[2] + m[3]
			if s, ok := intervalSamples[name]; ok {
				return s
			}
			return name
		})
	}
	return strings.Join(parts, `"`)
}

// Grafana unit ids the dashboard may use; all are in the linter's list of
// valid units.
var grafanaUnits = []string{"none", "short", "percentunit", "s", "ms", "reqps", "dateTimeAsIso", "dateTimeFromNow"}

func TestDashboardIsNotEditable(t *testing.T) {
	if readDashboard(t).Editable {
		t.Error(`"editable" is true; Grafana's linter wants false, so that an imported copy is changed only by a new import`)
	}
}

func TestDashboardVariables(t *testing.T) {
	d := readDashboard(t)
	vars := map[string]variable{}
	var datasources []variable
	for _, v := range d.Templating.List {
		if _, dup := vars[v.Name]; !dup {
			vars[v.Name] = v
		}
		if strings.EqualFold(v.Type, "datasource") {
			datasources = append(datasources, v)
		}
	}
	if len(datasources) != 1 {
		t.Fatalf("%d data source variables, want exactly one", len(datasources))
	}
	if ds := datasources[0]; ds.Name != "datasource" || ds.Label != "Data source" || queryText(ds.Query) != "prometheus" {
		t.Errorf("data source variable %q label %q query %q; want datasource, \"Data source\", prometheus", ds.Name, ds.Label, queryText(ds.Query))
	}
	for _, name := range []string{"job", "instance"} {
		v, ok := vars[name]
		if !ok {
			t.Errorf("no %s variable", name)
			continue
		}
		if v.Type != "query" || v.Label != strings.ToUpper(name[:1])+name[1:] {
			t.Errorf("%s variable: type %q label %q, want a query labelled %s", name, v.Type, v.Label, strings.ToUpper(name[:1])+name[1:])
		}
		if !v.Multi || v.AllValue != ".+" {
			t.Errorf("%s variable: multi %v allValue %q; want a multi select with allValue .+", name, v.Multi, v.AllValue)
		}
	}
	labelQuery := regexp.MustCompile(`([a-z_]+)\((.+)\)`)
	var exprs []promQL
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if ds := uid(v.Datasource); ds != "$datasource" && ds != "${datasource}" {
			t.Errorf("variable %s: datasource %q, want ${datasource}", v.Name, ds)
		}
		if v.Refresh != 2 {
			t.Errorf("variable %s: refresh %d, want 2 (on time range change)", v.Name, v.Refresh)
		}
		q := queryText(v.Query)
		m := labelQuery.FindStringSubmatch(q)
		if m == nil || !slices.Contains([]string{"label_names", "label_values", "metrics", "query_result"}, m[1]) {
			t.Errorf("variable %s: query %q is not label_values(...), label_names(...), metrics(...) or query_result(...)", v.Name, q)
			continue
		}
		arg := m[2]
		if i := strings.LastIndex(arg, ","); m[1] == "label_values" && i >= 0 {
			arg = arg[:i] // label_values(<series selector>, <label>)
		}
		// The instance variable is chosen by job, so it cannot filter by
		// itself; the job variable filters by nothing.
		exprs = append(exprs, promQL{where: "variable " + v.Name, expr: arg, skip: map[string][]string{"job": {"$job", "$instance"}, "instance": {"$instance"}}[v.Name]})
	}
	checkPromQL(t, exprs)
}

func TestDashboardPanels(t *testing.T) {
	d := readDashboard(t)
	panels := allPanels(d.Panels)
	if len(panels) < 20 {
		t.Fatalf("only %d panels", len(panels))
	}
	for _, p := range panels {
		if ds := uid(p.Datasource); ds != "$datasource" && ds != "${datasource}" {
			t.Errorf("%s: datasource %q, want ${datasource}", p.name(), ds)
		}
		if p.Title == "" || p.Description == "" {
			t.Errorf("%s: title %q, description %q; want both", p.name(), p.Title, p.Description)
		}
		unit := p.FieldConfig.Defaults.Unit
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				if s, ok := prop.Value.(string); ok && prop.ID == "unit" {
					unit = s
				}
			}
		}
		if !slices.Contains(grafanaUnits, unit) {
			t.Errorf("%s: unit %q, want one of %v", p.name(), unit, grafanaUnits)
		}
		if !p.hasTargets || len(p.Targets) == 0 {
			t.Errorf("%s: no targets", p.name())
		}
	}
}

func TestDashboardExpressions(t *testing.T) {
	var exprs []promQL
	for _, p := range allPanels(readDashboard(t).Panels) {
		for _, tg := range p.Targets {
			exprs = append(exprs, promQL{where: fmt.Sprintf("%s, target %s", p.name(), tg.RefID), expr: tg.Expr})
		}
	}
	if len(exprs) < 25 {
		t.Fatalf("only %d expressions in the dashboard", len(exprs))
	}
	checkPromQL(t, exprs)
}
