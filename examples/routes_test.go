package examples

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// healthGroup is the rule group of alerts.yml whose alerts say whether the
// SOC's view of UTMStack works: they are paged on their own route.
const healthGroup = "utmstack-exporter"

// receiverOf is where each routing severity goes.
var receiverOf = map[string]string{"critical": "pager", "warning": "soc-queue"}

// Where every shipped alert goes, as Alertmanager itself routes it (amtool
// config routes test): the health alerts through their own route, with its
// short timers, the data alerts through the severity routes, and each to
// the receiver of its severity.
func TestAlertmanagerRoutesEveryAlert(t *testing.T) {
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		t.Skip("amtool is not installed (the Debian package prometheus-alertmanager; make rules-test installs it)")
	}
	health := map[string]bool{}
	for _, g := range ruleGroups(t, "prometheus/alerts.yml") {
		for _, r := range g.Rules {
			health[r.Alert] = g.Name == healthGroup && r.Alert != ""
		}
	}
	checked := 0
	for _, r := range alertRules(t) {
		args := []string{"config", "routes", "test", "--config.file=alertmanager/alertmanager.yml", "--tree",
			"alertname=" + r.Alert, "severity=" + r.Labels["severity"], "job=utmstack", "instance=127.0.0.1:9850"}
		out, err := exec.Command(amtool, args...).Output()
		if err != nil {
			t.Fatalf("amtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		// The matching routes as a tree, then the receivers on the last line.
		tree := strings.TrimSpace(string(out))
		receivers := tree[strings.LastIndex(tree, "\n")+1:]
		if want := receiverOf[r.Labels["severity"]]; receivers != want {
			t.Errorf("%s (severity %s) goes to %q, want %s:\n%s", r.Alert, r.Labels["severity"], receivers, want, tree)
		}
		if onHealthRoute := strings.Contains(tree, "{alertname=~"); onHealthRoute != health[r.Alert] {
			t.Errorf("%s: on the health route %v, want %v (health alerts are alerts.yml's group %s):\n%s",
				r.Alert, onHealthRoute, health[r.Alert], healthGroup, tree)
		}
		checked++
	}
	if checked < 15 {
		t.Errorf("routed only %d alerts", checked)
	}
}

// The health route's timers let a page go out within 2 minutes plus the
// rule's for: (a scrape and an evaluation interval of a minute each): a
// short group_wait, and a group_interval that does not hold back an alert
// joining a group already notified.
func TestAlertmanagerHealthRouteIsQuick(t *testing.T) {
	type route struct {
		Matchers      []string `yaml:"matchers"`
		GroupWait     string   `yaml:"group_wait"`
		GroupInterval string   `yaml:"group_interval"`
	}
	var cfg struct {
		Route struct {
			Routes []route `yaml:"routes"`
		} `yaml:"route"`
	}
	if err := yaml.Unmarshal(readFile(t, "alertmanager/alertmanager.yml"), &cfg); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cfg.Route.Routes, func(r route) bool {
		return len(r.Matchers) == 1 && strings.HasPrefix(r.Matchers[0], "alertname=~")
	})
	if i < 0 {
		t.Fatal("no health route (matchers: [alertname=~...]) among the top route's routes")
	}
	if i != 0 {
		t.Errorf("the health route is route %d; it must come first, before the severity routes catch its alerts", i)
	}
	health := cfg.Route.Routes[i]
	for key, limit := range map[string]struct {
		value string
		most  time.Duration
	}{
		"group_wait":     {health.GroupWait, 10 * time.Second},
		"group_interval": {health.GroupInterval, time.Minute},
	} {
		d, err := model.ParseDuration(limit.value)
		if err != nil || time.Duration(d) > limit.most {
			t.Errorf("health route %s %q, want at most %v", key, limit.value, limit.most)
		}
	}
}

type ruleGroup struct {
	Name  string `yaml:"name"`
	Rules []rule `yaml:"rules"`
}

func ruleGroups(t *testing.T, path string) []ruleGroup {
	t.Helper()
	var file struct {
		Groups []ruleGroup `yaml:"groups"`
	}
	if err := yaml.Unmarshal(readFile(t, path), &file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return file.Groups
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
