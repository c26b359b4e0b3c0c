package collector

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// metricName finds the exporter's metric names in PromQL text, once
// quotedString has taken out label values (job=~"utmstack|utmstack_probe").
var (
	metricName   = regexp.MustCompile(`\butmstack_[a-z0-9_]+\b`)
	quotedString = regexp.MustCompile(`"(\\.|[^"\\])*"`)
	// recordedName is a recording rule's level:metric:operations, a series
	// of Prometheus' own.
	recordedName = regexp.MustCompile(`\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b`)
)

// TestExamplesNameOnlyExportedMetrics checks that every metric the shipped
// dashboard and alert rules query is one the exporter really exports, so a
// renamed metric cannot leave them silently empty.
func TestExamplesNameOnlyExportedMetrics(t *testing.T) {
	h := newHarness(t, knownAlerts(), "queries:\n  - name: all\n    by: [severity, status, country, rule, category, data_source]\n    ages: [oldest, newest]\n")
	h.fake.SetDataSources([]utmstacktest.DataSource{{Source: "fw", DataType: "syslog", LastSeen: epoch, Median: time.Minute}})
	h.fake.SetAgents([]utmstacktest.Agent{{ID: 1, Hostname: "pc", Version: "11.0.1", LastPing: epoch}})
	cfg := h.exporter.Config()
	withCoverage := *cfg
	withCoverage.Coverage = coverageOn
	if err := h.exporter.Apply(&withCoverage); err != nil {
		t.Fatal(err)
	}
	// A failure makes every series present, the ignored status included.
	// The first round reads the index totals and UTMStack's version, the
	// second exports them.
	scrapedNames(t, h.server.URL)
	exported := scrapedNames(t, h.server.URL)

	dashboard, err := os.ReadFile("../examples/grafana/utmstack.json")
	if err != nil {
		t.Fatal(err)
	}
	var parsed any
	if err := json.Unmarshal(dashboard, &parsed); err != nil {
		t.Fatalf("the dashboard is not valid JSON: %v", err)
	}
	var exprs []string
	collectExprs(parsed, &exprs)
	if len(exprs) < 10 {
		t.Fatalf("found only %d PromQL expressions in the dashboard", len(exprs))
	}
	rules := ruleExprs(t, "../examples/prometheus/alerts.yml")
	for name, text := range map[string]string{"dashboard": strings.Join(exprs, "\n"), "alerts.yml": strings.Join(rules, "\n")} {
		used := metricName.FindAllString(recordedName.ReplaceAllString(quotedString.ReplaceAllString(text, `""`), ""), -1)
		if len(used) == 0 {
			t.Fatalf("%s names no utmstack metric", name)
		}
		for _, m := range used {
			if !exported[m] {
				t.Errorf("%s uses %s, which the exporter does not export", name, m)
			}
		}
	}
}

// ruleExprs returns the expr of every rule in a Prometheus rule file.
func ruleExprs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Expr string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var exprs []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	return exprs
}

// collectExprs gathers every "expr" and "query" string of a Grafana dashboard.
func collectExprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if s, ok := child.(string); ok && (k == "expr" || k == "query") {
				*out = append(*out, s)
				continue
			}
			if q, ok := child.(map[string]any); ok && k == "query" {
				if s, ok := q["query"].(string); ok {
					*out = append(*out, s)
				}
			}
			collectExprs(child, out)
		}
	case []any:
		for _, child := range x {
			collectExprs(child, out)
		}
	}
}

// scrapedNames returns the metric names of one scrape, with the _total
// suffix kept for counters as PromQL uses them.
func scrapedNames(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for name := range families {
		names[name] = true
	}
	return names
}
