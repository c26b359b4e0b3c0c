//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	upstreamUser     = "prometheus"
	upstreamPassword = "e2e-upstream-password"
	scrapeUser       = "scraper"
	scrapePassword   = "e2e-scrape-password"
)

// alerts is a hand-counted set; the expected values below come from it.
func alerts(now time.Time) []utmstacktest.Alert {
	ts := now.Add(-time.Hour).Format(time.RFC3339)
	geo := func(code string) map[string]any {
		return map[string]any{"geolocation": map[string]any{"countryCode": code}}
	}
	return []utmstacktest.Alert{
		{"@timestamp": ts, "id": "1", "severity": 3, "status": 2, "adversary": geo("US")},
		{"@timestamp": ts, "id": "2", "severity": 3, "status": 2, "adversary": geo("US")},
		{"@timestamp": ts, "id": "3", "severity": 2, "status": 2, "adversary": geo("CN")},
		{"@timestamp": ts, "id": "4", "severity": 1, "status": 5, "adversary": geo("CN")},
		{"@timestamp": ts, "id": "5", "severity": 1, "status": 3, "adversary": geo("RU")},
		{"@timestamp": ts, "id": "6", "severity": 2, "status": 1},
		{"@timestamp": ts, "id": "7", "severity": 3, "status": 2, "tags": []any{"False positive"}, "adversary": geo("US")},
	}
}

type stack struct {
	dir        string
	fake       *utmstacktest.Server
	exporter   string // host:port
	exporterP  *process
	prometheus string // base URL
	caPool     *x509.CertPool
}

// startStack runs the fake UTMStack, the exporter binary with TLS and basic
// auth on its endpoints, and a Prometheus scraping it every second twice:
// once with the right credentials and once without any.
func startStack(t *testing.T) *stack {
	promBin := requireTool(t, "prometheus")
	bin := exporterBinary(t)
	s := &stack{dir: t.TempDir()}
	ctx := deadline(t, 60*time.Second)

	s.fake = utmstacktest.New(utmstacktest.Options{
		Users:  map[string]string{upstreamUser: upstreamPassword},
		Alerts: alerts(time.Now()),
	})
	upstream := httptest.NewServer(s.fake)
	t.Cleanup(upstream.Close)

	certPEM, keyPEM := selfSigned(t)
	s.caPool = x509.NewCertPool()
	s.caPool.AppendCertsFromPEM(certPEM)
	hash, err := bcrypt.GenerateFromPassword([]byte(scrapePassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	certFile := writeFile(t, s.dir, "cert.pem", string(certPEM))
	keyFile := writeFile(t, s.dir, "key.pem", string(keyPEM))
	webConfig := writeFile(t, s.dir, "web.yml", fmt.Sprintf(
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n", certFile, keyFile, scrapeUser, hash))
	passwordFile := writeFile(t, s.dir, "password", upstreamPassword+"\n")
	// Two customers' instances for /probe, each with its own alerts.
	customerA, customerB := customerFake(t, 4), customerFake(t, 9)
	config := writeFile(t, s.dir, "utmstack.yml", fmt.Sprintf(`utmstack:
  url: %s
  auth:
    username: %s
    password_file: %s
targets:
  customer-a:
    url: %s
    auth: {api_key_file: %s}
  customer-b:
    url: %s
    auth: {api_key_file: %s}
`, upstream.URL, upstreamUser, passwordFile,
		customerA, writeFile(t, s.dir, "customer-a-key", customerKey),
		customerB, writeFile(t, s.dir, "customer-b-key", customerKey)))

	s.exporterP = start(t, bin, []string{
		"--config.file=" + config, "--web.config.file=" + webConfig,
		"--web.listen-address=127.0.0.1:0", "--log.level=debug",
	}, nil)
	s.exporter = s.exporterP.waitFor(ctx, t, regexp.MustCompile(`msg="Listening on" address=(127\.0\.0\.1:\d+)`))

	promAddr := freePort(t)
	promConfig := writeFile(t, s.dir, "prometheus.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: utmstack
    scheme: https
    tls_config: {ca_file: %[1]s}
    basic_auth: {username: %[2]s, password: %[3]s}
    static_configs: [{targets: ["%[4]s"]}]
  - job_name: utmstack_without_credentials
    scheme: https
    tls_config: {ca_file: %[1]s}
    static_configs: [{targets: ["%[4]s"]}]
%[5]s`, certFile, scrapeUser, scrapePassword, s.exporter, probeJob(t, certFile, s.exporter)))
	prom := start(t, promBin, []string{
		"--config.file=" + promConfig, "--storage.tsdb.path=" + s.dir + "/data",
		"--web.listen-address=" + promAddr, "--log.level=info",
	}, nil)
	prom.waitFor(ctx, t, regexp.MustCompile(`Server is ready to receive web requests`))
	s.prometheus = "http://" + promAddr
	return s
}

const customerKey = "e2e-customer-api-key"

// customerFake starts a UTMStack holding n open alerts, reachable with
// customerKey, and returns its URL.
func customerFake(t *testing.T, n int) string {
	at := time.Now().Add(-time.Hour).Format(time.RFC3339)
	var alerts []utmstacktest.Alert
	for i := range n {
		alerts = append(alerts, utmstacktest.Alert{"@timestamp": at, "id": fmt.Sprint(i), "severity": 2, "status": 2})
	}
	fake := utmstacktest.New(utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: customerKey}}, Alerts: alerts})
	server := httptest.NewServer(fake)
	t.Cleanup(server.Close)
	return server.URL
}

// probeJob is the utmstack_probe job of examples/prometheus/probe.yml, as
// shipped, pointed at this exporter with its TLS and basic auth, and
// scraping every second.
func probeJob(t *testing.T, caFile, exporter string) string {
	data, err := os.ReadFile("../examples/prometheus/probe.yml")
	if err != nil {
		t.Fatal(err)
	}
	var example struct {
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &example); err != nil {
		t.Fatal(err)
	}
	for _, job := range example.ScrapeConfigs {
		if job["job_name"] != "utmstack_probe" {
			continue
		}
		job["scrape_interval"], job["scrape_timeout"], job["scheme"] = "1s", "1s", "https"
		job["tls_config"] = map[string]any{"ca_file": caFile}
		job["basic_auth"] = map[string]any{"username": scrapeUser, "password": scrapePassword}
		relabels, _ := job["relabel_configs"].([]any)
		for _, r := range relabels {
			if rule, ok := r.(map[string]any); ok && rule["target_label"] == "__address__" {
				rule["replacement"] = exporter
			}
		}
		out, err := yaml.Marshal([]any{job})
		if err != nil {
			t.Fatal(err)
		}
		return "  " + strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\n  ") + "\n"
	}
	t.Fatal("examples/prometheus/probe.yml has no utmstack_probe job")
	return ""
}

// get fetches a path of the exporter over TLS, with the scrape credentials
// when auth is true.
func (s *stack) get(t *testing.T, method, path string, auth bool) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.caPool}}, Timeout: 10 * time.Second}
	req, _ := http.NewRequest(method, "https://"+s.exporter+path, nil)
	if auth {
		req.SetBasicAuth(scrapeUser, scrapePassword)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestPrometheusScrapesTheExporter(t *testing.T) {
	s := startStack(t)
	ctx := deadline(t, 60*time.Second)

	eventually(ctx, t, s.prometheus, `up{job="utmstack"}`, 1)
	eventually(ctx, t, s.prometheus, `up{job="utmstack_without_credentials"}`, 0)
	for expr, want := range map[string]float64{
		`utmstack_up{job="utmstack"}`:                                                     1,
		`utmstack_alerts{job="utmstack",query="all"}`:                                     6,
		`utmstack_alerts{job="utmstack",query="open"}`:                                    3,
		`utmstack_alerts_by_severity{job="utmstack",query="all",severity="high"}`:         2,
		`utmstack_alerts_by_severity{job="utmstack",query="all",severity="medium"}`:       2,
		`utmstack_alerts_by_severity{job="utmstack",query="all",severity="low"}`:          2,
		`utmstack_alerts_by_status{job="utmstack",query="all",status="open"}`:             3,
		`utmstack_alerts_by_status{job="utmstack",query="all",status="automatic_review"}`: 1,
		`utmstack_alerts_by_status{job="utmstack",query="all",status="in_review"}`:        1,
		`utmstack_alerts_by_status{job="utmstack",query="all",status="completed"}`:        1,
		`utmstack_alerts_by_country{job="utmstack",query="all",country="US"}`:             2,
		`utmstack_alerts_by_country{job="utmstack",query="all",country="CN"}`:             2,
		`utmstack_alerts_by_country{job="utmstack",query="all",country="RU"}`:             1,
		`utmstack_alerts_by_country{job="utmstack",query="all",country="unknown"}`:        1,
		`utmstack_alerts_by_country{job="utmstack",query="open",country="US"}`:            2,
		`utmstack_query_up{job="utmstack",query="open"}`:                                  1,
		`utmstack_exporter_logins_total{job="utmstack"}`:                                  1,
		`sum(utmstack_exporter_auth_failures_total{job="utmstack"})`:                      0,
	} {
		eventually(ctx, t, s.prometheus, expr, want)
	}
}

func TestPrometheusProbesTargetsWithTheExampleRelabelling(t *testing.T) {
	s := startStack(t)
	ctx := deadline(t, 60*time.Second)
	for expr, want := range map[string]float64{
		`up{job="utmstack_probe",instance="customer-a"}`:                           1,
		`up{job="utmstack_probe",instance="customer-b"}`:                           1,
		`utmstack_alerts{job="utmstack_probe",instance="customer-a",query="open"}`: 4,
		`utmstack_alerts{job="utmstack_probe",instance="customer-b",query="open"}`: 9,
		`utmstack_up{job="utmstack_probe",instance="customer-b"}`:                  1,
		`utmstack_alerts{job="utmstack",query="open"}`:                             3,
	} {
		eventually(ctx, t, s.prometheus, expr, want)
	}
	if code, body := s.get(t, http.MethodGet, "/probe?target=http://127.0.0.1:1", true); code != http.StatusBadRequest {
		t.Fatalf("a probe of an unconfigured address: HTTP %d %s, want 400", code, body)
	}
}

func TestExporterEndpointsHonourWebConfig(t *testing.T) {
	s := startStack(t)
	for _, tc := range []struct {
		method, path string
		auth         bool
		want         int
	}{
		{http.MethodGet, "/metrics", false, http.StatusUnauthorized},
		{http.MethodGet, "/metrics", true, http.StatusOK},
		{http.MethodGet, "/", true, http.StatusOK},
		{http.MethodGet, "/-/healthy", true, http.StatusOK},
		{http.MethodGet, "/-/ready", true, http.StatusOK},
		{http.MethodGet, "/-/reload", true, http.StatusMethodNotAllowed},
		{http.MethodPost, "/-/reload", false, http.StatusUnauthorized},
		{http.MethodPost, "/-/reload", true, http.StatusOK},
	} {
		if code, body := s.get(t, tc.method, tc.path, tc.auth); code != tc.want {
			t.Errorf("%s %s (auth %v): HTTP %d, want %d: %s", tc.method, tc.path, tc.auth, code, tc.want, body)
		}
	}
	_, landing := s.get(t, http.MethodGet, "/", true)
	if !strings.Contains(landing, "UTMStack") || strings.Contains(landing, upstreamPassword) {
		t.Errorf("landing page: want it to name UTMStack and not the password:\n%s", landing)
	}
}

func TestPromtoolChecksARealScrape(t *testing.T) {
	promtool := requireTool(t, "promtool")
	s := startStack(t)
	code, metrics := s.get(t, http.MethodGet, "/metrics", true)
	if code != http.StatusOK || !strings.Contains(metrics, "utmstack_alerts{") {
		t.Fatalf("scrape: HTTP %d\n%s", code, metrics)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewBufferString(metrics)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// The exporter runs on one CPU unless told otherwise (--runtime.gomaxprocs,
// BENCHMARKS.md), and refuses a value it cannot use, naming it.
func TestGomaxprocs(t *testing.T) {
	if v, ok := os.LookupEnv("GOMAXPROCS"); ok {
		t.Skipf("GOMAXPROCS=%s is set here, and the exporter rightly takes it as its --runtime.gomaxprocs", v)
	}
	s := startStack(t)
	_, metrics := s.get(t, http.MethodGet, "/metrics", true)
	if got := sample(metrics, "go_sched_gomaxprocs_threads"); got != 1 {
		t.Errorf("go_sched_gomaxprocs_threads %v, want 1 by default", got)
	}

	bin := exporterBinary(t)
	for _, tc := range []struct {
		args []string
		env  []string
		bad  string
	}{
		{[]string{"--runtime.gomaxprocs=-1"}, nil, `"-1"`},
		{nil, []string{"GOMAXPROCS=two"}, `"two"`},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, tc.args...)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil || cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 ||
			!strings.Contains(string(out), "--runtime.gomaxprocs") || !strings.Contains(string(out), tc.bad) {
			t.Errorf("%v %v: err %v, output %q: want exit 1 naming the flag and %s", tc.args, tc.env, err, out, tc.bad)
		}
	}
}

// A --web.telemetry-path that http.ServeMux cannot take, or that would hide
// another endpoint, stops the exporter with an error naming it; it used to
// panic.
func TestUnusableTelemetryPathIsRefused(t *testing.T) {
	bin := exporterBinary(t)
	for _, path := range []string{"", "metrics", "/-/healthy", "/probe", "/metrics/{x", "GET /metrics"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, "--web.telemetry-path="+path, "--web.listen-address=127.0.0.1:0")
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil || cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 ||
			!strings.Contains(string(out), "--web.telemetry-path") || !strings.Contains(string(out), strconv.Quote(path)) ||
			strings.Contains(string(out), "panic") {
			t.Errorf("--web.telemetry-path=%q: err %v, output %q: want exit 1 naming the flag and the value", path, err, out)
		}
	}
}

// The landing page links only to what the exporter serves: it has no
// /debug/pprof handlers, so no links to them.
func TestLandingPageLinksOnlyToServedPages(t *testing.T) {
	s := startStack(t)
	code, body := s.get(t, http.MethodGet, "/", true)
	if code != http.StatusOK || !strings.Contains(body, `href="/metrics"`) {
		t.Fatalf("landing page: HTTP %d\n%s", code, body)
	}
	if strings.Contains(body, "/debug/pprof") {
		t.Errorf("the landing page links to profiling pages the exporter does not serve:\n%s", body)
	}
}
