package chain

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func readExample(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../examples/" + path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPrometheusConfig(t *testing.T) {
	out, err := PrometheusConfig(readExample(t, "prometheus/prometheus.yml"), PrometheusOptions{
		Interval: 2 * time.Second, Exporter: "127.0.0.1:19850", RuleFiles: []string{"/tmp/alerts.yml"}, Alertmanager: "127.0.0.1:19853",
	})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global        map[string]string `yaml:"global"`
		RuleFiles     []string          `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName        string `yaml:"job_name"`
			ScrapeInterval string `yaml:"scrape_interval"`
			ScrapeTimeout  string `yaml:"scrape_timeout"`
			MetricsPath    string `yaml:"metrics_path"`
			StaticConfigs  []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
		Alerting struct {
			Alertmanagers []struct {
				StaticConfigs []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"alertmanagers"`
		} `yaml:"alerting"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	job := cfg.ScrapeConfigs[0]
	if cfg.Global["evaluation_interval"] != "2s" || job.ScrapeInterval != "2s" || job.ScrapeTimeout != "2s" ||
		job.JobName != "utmstack" || job.MetricsPath != "/metrics" || job.StaticConfigs[0].Targets[0] != "127.0.0.1:19850" ||
		cfg.RuleFiles[0] != "/tmp/alerts.yml" || cfg.Alerting.Alertmanagers[0].StaticConfigs[0].Targets[0] != "127.0.0.1:19853" {
		t.Errorf("generated configuration:\n%s", out)
	}
	if _, err := PrometheusConfig([]byte("scrape_configs: [{job_name: node}]"), PrometheusOptions{}); err == nil {
		t.Error("a configuration without the utmstack job was accepted")
	}
}

func TestAlertmanagerConfig(t *testing.T) {
	out, err := AlertmanagerConfig(readExample(t, "alertmanager/alertmanager.yml"), AlertmanagerOptions{
		Receiver: "http://127.0.0.1:19854", Divisor: 60,
	})
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	// The top route's 30s, 5m, 4h and 1h, and the health route's 10s and 1m, divided by 60.
	for _, want := range []string{"url: http://127.0.0.1:19854/pager", "url: http://127.0.0.1:19854/soc-queue", "group_wait: 500ms", "group_interval: 5s",
		"repeat_interval: 4m", "repeat_interval: 1m", "group_interval: 1s", "UTMStackDown|UTMStackExporterDown"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the generated configuration:\n%s", want, text)
		}
	}
	if strings.Contains(text, "5001") {
		t.Errorf("a webhook still points at the shipped address:\n%s", text)
	}
}

func TestShortenFor(t *testing.T) {
	out, err := ShortenFor([]byte(`groups:
- name: g
  rules:
  - {alert: A, expr: up == 0, for: 5m}
  - {alert: B, expr: up == 0, for: 1h}
  - {alert: C, expr: up == 0}
  - {record: r, expr: up}
`), 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"for: 5s", "for: 1m", "alert: C", "expr: up == 0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Count(string(out), "for:") != 2 {
		t.Errorf("a for: was added or lost:\n%s", out)
	}
	if _, err := ShortenFor([]byte("groups: [{name: g, rules: [{alert: A, expr: up, for: soon}]}]"), 2); err == nil || !strings.Contains(err.Error(), "rule A") {
		t.Errorf("a bad for: gave %v, want an error naming the rule", err)
	}
}

func TestReceiver(t *testing.T) {
	got := make(chan Notification, 1)
	srv := httptest.NewServer(Receiver{Deliver: func(n Notification) { got <- n }})
	defer srv.Close()
	body := `{"version":"4","receiver":"pager","status":"firing","groupKey":"{}:{instance=\"a\"}","alerts":[{"status":"firing","labels":{"alertname":"UTMStackDown","severity":"critical"},"annotations":{"summary":"s"},"startsAt":"2026-01-02T03:04:05Z","endsAt":"0001-01-01T00:00:00Z"}]}`
	resp, err := http.Post(srv.URL+"/pager", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	n := <-got
	if n.Path != "/pager" || n.Status != "firing" || len(n.Alerts) != 1 || n.Alerts[0].Labels["alertname"] != "UTMStackDown" ||
		n.Alerts[0].Annotations["summary"] != "s" || n.Alerts[0].StartsAt.Year() != 2026 {
		t.Errorf("decoded %+v", n)
	}
	resp, err = http.Post(srv.URL+"/pager", "application/json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a broken body: HTTP %d, want 400", resp.StatusCode)
	}
}

func TestRuleFor(t *testing.T) {
	got, err := RuleFor(readExample(t, "prometheus/alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if got["UTMStackDown"] != time.Minute || got["UTMStackHighSeverityAlertOpen"] != 5*time.Minute {
		t.Errorf("for: %v", got)
	}
	if _, ok := got["UTMStackExporterLockedOut"]; !ok {
		t.Error("a for: 0m is left out")
	}
	if _, err := RuleFor([]byte("groups: [{name: g, rules: [{alert: A, for: soon}]}]")); err == nil || !strings.Contains(err.Error(), "rule A") {
		t.Errorf("a bad for: gave %v, want an error naming the rule", err)
	}
}
