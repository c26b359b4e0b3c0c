// Package examples holds the tests of the shipped example files that need no
// exporter: the alert rules against the runbook and the Alertmanager example,
// and the Grafana dashboard against Grafana's dashboard-linter rules.
package examples

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const runbookBase = "RUNBOOK.md#"

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// ruleFiles are the shipped rule files: alerts.yml, which the built-in
// queries feed, and the opt-in files beside it (alerts-<name>.yml), each
// for queries of one's own.
func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("prometheus/alerts*.yml")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, "_test.yml") })
	if !slices.Contains(files, "prometheus/alerts.yml") {
		t.Fatalf("rule files %v, no prometheus/alerts.yml", files)
	}
	return files
}

// readRules returns every rule, alerting and recording, of a rule file.
func readRules(t *testing.T, path string) []rule {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var rules []rule
	for _, g := range file.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules
}

// alertRules returns the alerting rules of every shipped rule file.
func alertRules(t *testing.T) []rule {
	t.Helper()
	var alerts []rule
	for _, f := range ruleFiles(t) {
		for _, r := range readRules(t, f) {
			if r.Alert != "" {
				alerts = append(alerts, r)
			}
		}
	}
	if len(alerts) < 10 {
		t.Fatalf("found only %d alert rules in %v", len(alerts), ruleFiles(t))
	}
	return alerts
}

// runbookSections maps each "## Name" heading of RUNBOOK.md to its text.
func runbookSections(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../RUNBOOK.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	parts := strings.Split("\n"+string(data), "\n## ")
	for _, part := range parts[1:] {
		heading, body, _ := strings.Cut(part, "\n")
		sections[strings.TrimSpace(heading)] = body
	}
	return sections
}

// Every alert links to its own section of the runbook, and every section
// says what the alert means, how to check it and how to fix it.
func TestEveryAlertHasItsRunbookSection(t *testing.T) {
	sections := runbookSections(t)
	names := map[string]bool{}
	for _, r := range alertRules(t) {
		names[r.Alert] = true
		if want := runbookBase + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
			t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
		}
		body, ok := sections[r.Alert]
		if !ok {
			t.Errorf("%s: RUNBOOK.md has no section \"## %s\"", r.Alert, r.Alert)
			continue
		}
		for _, part := range []string{"**What it means.**", "**How to check.**", "**How to fix.**"} {
			if !strings.Contains(body, part) {
				t.Errorf("RUNBOOK.md, %s: no %s", r.Alert, part)
			}
		}
	}
	for heading := range sections {
		if !names[heading] {
			t.Errorf("RUNBOOK.md has a section %q for no rule of alerts.yml", heading)
		}
	}
}

// Every alert that has an instance names its UTMStack: the url label joined
// from utmstack_exporter_target_info, shown in the summary. Alerts about
// UTMStack's alerts link to its alert view.
func TestEveryAlertNamesItsUTMStack(t *testing.T) {
	const join = "group_left (url) job_instance:utmstack_exporter_target_info:last"
	dataMetric := regexp.MustCompile(`\butmstack_(alerts|index_alerts)\w*`)
	for _, r := range alertRules(t) {
		if strings.HasPrefix(strings.TrimSpace(r.Expr), "absent(") {
			continue // no instance to name: UTMStackExporterTargetMissing
		}
		if !strings.Contains(r.Expr, join) {
			t.Errorf("%s: the expression does not join the url (%s)", r.Alert, join)
		}
		if !strings.Contains(r.Annotations["summary"], "{{ $labels.url }}") {
			t.Errorf("%s: the summary does not name the UTMStack ({{ $labels.url }}): %q", r.Alert, r.Annotations["summary"])
		}
		view := r.Annotations["alert_view_url"]
		if dataMetric.MatchString(r.Expr) != (view != "") {
			t.Errorf("%s: alert_view_url %q; want one exactly for the rules on alert counts", r.Alert, view)
		}
		if view != "" && !strings.HasPrefix(view, "{{ $labels.url }}/data/alert/view?alertType=ALERT") {
			t.Errorf("%s: alert_view_url %q is not UTMStack's alert view (/data/alert/view?alertType=ALERT)", r.Alert, view)
		}
		if r.Labels["severity"] != "critical" && r.Labels["severity"] != "warning" {
			t.Errorf("%s: severity %q, want critical or warning (the Alertmanager example routes on them)", r.Alert, r.Labels["severity"])
		}
	}
}

// The Alertmanager example's inhibitions name only alerts that exist, so a
// renamed rule cannot leave an outage paging twice.
func TestAlertmanagerExampleNamesExistingAlerts(t *testing.T) {
	data, err := os.ReadFile("alertmanager/alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		InhibitRules []struct {
			Source []string `yaml:"source_matchers"`
			Target []string `yaml:"target_matchers"`
			Equal  []string `yaml:"equal"`
		} `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.InhibitRules) == 0 {
		t.Fatal("the Alertmanager example has no inhibit_rules")
	}
	var names []string
	for _, r := range alertRules(t) {
		names = append(names, r.Alert)
	}
	alertname := regexp.MustCompile(`^alertname=~?"([^"]+)"$`)
	for i, inhibit := range cfg.InhibitRules {
		if !slices.Equal(inhibit.Equal, []string{"job", "instance"}) {
			t.Errorf("inhibit_rules[%d]: equal %v, want [job instance]: one UTMStack's outage must not silence another's", i, inhibit.Equal)
		}
		for _, m := range append(inhibit.Source, inhibit.Target...) {
			sub := alertname.FindStringSubmatch(m)
			if sub == nil {
				t.Errorf("inhibit_rules[%d]: matcher %q is not on alertname", i, m)
				continue
			}
			for _, name := range strings.Split(sub[1], "|") {
				if !slices.Contains(names, name) {
					t.Errorf("inhibit_rules[%d]: %q names no rule of alerts.yml", i, name)
				}
			}
		}
	}
}
