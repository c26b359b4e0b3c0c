package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// probeHarness is the /metrics harness plus two further UTMStacks, served
// by /probe as targets "alpha" and "beta".
type probeHarness struct {
	*harness
	alpha, beta *utmstacktest.Server
	betaServer  *httptest.Server
	probe       *httptest.Server
}

func newProbeHarness(t *testing.T) *probeHarness {
	t.Helper()
	at := epoch.Add(-time.Hour).Format(time.RFC3339)
	alphaAlerts := []utmstacktest.Alert{
		{"@timestamp": at, "id": "a1", "severity": 3, "status": 2},
		{"@timestamp": at, "id": "a2", "severity": 3, "status": 2},
	}
	betaAlerts := []utmstacktest.Alert{
		{"@timestamp": at, "id": "b1", "severity": 1, "status": 5},
	}
	clock := utmstacktest.NewClock(epoch)
	alpha := utmstacktest.New(utmstacktest.Options{Clock: clock, Users: map[string]string{"alpha-user": "alpha-password"}, Alerts: alphaAlerts})
	beta := utmstacktest.New(utmstacktest.Options{Clock: clock, APIKeys: []utmstacktest.APIKey{{Key: "beta-api-key"}}, Alerts: betaAlerts})
	alphaServer, betaServer := httptest.NewServer(alpha), httptest.NewServer(beta)
	t.Cleanup(alphaServer.Close)
	t.Cleanup(betaServer.Close)

	h := newHarness(t, knownAlerts(), fmt.Sprintf(`queries:
  - name: open
    filters: [{field: status, operator: IS, value: 2}]
    by: [severity]
targets:
  alpha:
    url: %s
    auth: {username: alpha-user, password: alpha-password}
  beta:
    url: %s
    auth: {api_key: beta-api-key}
    min_interval: 1m
    queries:
      - name: all
        by: [status]
`, alphaServer.URL, betaServer.URL))
	probe := httptest.NewServer(h.exporter.ProbeHandler())
	t.Cleanup(probe.Close)
	return &probeHarness{harness: h, alpha: alpha, beta: beta, betaServer: betaServer, probe: probe}
}

func TestProbeServesEachTargetsOwnCounts(t *testing.T) {
	h := newProbeHarness(t)
	alphaWant := `
# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="open"} 2
# HELP utmstack_alerts_by_severity Alerts matching the query, by severity (low, medium, high; unknown when seen).
# TYPE utmstack_alerts_by_severity gauge
utmstack_alerts_by_severity{query="open",severity="high"} 2
utmstack_alerts_by_severity{query="open",severity="low"} 0
utmstack_alerts_by_severity{query="open",severity="medium"} 0
# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.
# TYPE utmstack_up gauge
utmstack_up 1
# HELP utmstack_exporter_logins_total Successful password logins to UTMStack.
# TYPE utmstack_exporter_logins_total counter
utmstack_exporter_logins_total 1
`
	names := []string{"utmstack_alerts", "utmstack_alerts_by_severity", "utmstack_alerts_by_status", "utmstack_up", "utmstack_exporter_logins_total"}
	for range 3 { // the token is kept across probes: still one login
		if err := testutil.ScrapeAndCompare(h.probe.URL+"?target=alpha", strings.NewReader(alphaWant), names...); err != nil {
			t.Fatal(err)
		}
	}
	betaWant := `
# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="all"} 1
# HELP utmstack_alerts_by_status Alerts matching the query, by status (automatic_review, open, in_review, completed; ignored and unknown when seen).
# TYPE utmstack_alerts_by_status gauge
utmstack_alerts_by_status{query="all",status="automatic_review"} 0
utmstack_alerts_by_status{query="all",status="completed"} 1
utmstack_alerts_by_status{query="all",status="in_review"} 0
utmstack_alerts_by_status{query="all",status="open"} 0
# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.
# TYPE utmstack_up gauge
utmstack_up 1
# HELP utmstack_exporter_logins_total Successful password logins to UTMStack.
# TYPE utmstack_exporter_logins_total counter
utmstack_exporter_logins_total 0
`
	if err := testutil.ScrapeAndCompare(h.probe.URL+"?target=beta", strings.NewReader(betaWant), names...); err != nil {
		t.Fatal(err)
	}
	if n := h.alpha.Requests(http.MethodPost, "/api/authenticate"); n != 1 {
		t.Fatalf("alpha saw %d logins over three probes, want 1", n)
	}
	// /metrics is still the top-level utmstack, untouched by the probes.
	if n := h.fake.TotalRequests(); n != 0 {
		t.Fatalf("the /metrics UTMStack got %d requests from probes", n)
	}
	// A probe names its own UTMStack, and answers with its own registry:
	// no process metrics.
	body := get(t, h.probe.URL+"?target=beta")
	if want := `utmstack_exporter_target_info{url="` + h.betaServer.URL + `"} 1`; !strings.Contains(body, want) {
		t.Fatalf("a probe of beta lacks %s:\n%s", want, body)
	}
	if strings.Contains(body, "utmstack_exporter_build_info") || strings.Contains(body, "utmstack_exporter_config_last_reload") {
		t.Fatalf("a probe exported process metrics:\n%s", body)
	}
}

func TestProbeRefusesUnknownTargets(t *testing.T) {
	h := newProbeHarness(t)
	for _, tc := range []struct{ query, want string }{
		{"", "missing the target parameter"},
		{"?target=gamma", `unknown target "gamma"`},
		{"?target=" + h.upstream.URL, "looks like an address"},
		{"?target=127.0.0.1:9851", "looks like an address"},
	} {
		resp, err := http.Get(h.probe.URL + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
			t.Errorf("%q: HTTP %d %q, want 400 with %q", tc.query, resp.StatusCode, body, tc.want)
		}
	}
	if n := h.fake.TotalRequests() + h.alpha.TotalRequests() + h.beta.TotalRequests(); n != 0 {
		t.Fatalf("refused probes caused %d upstream requests", n)
	}
	h.scrape(t, `
# HELP utmstack_exporter_probe_unknown_target_total Probes refused because the target is not a name from the configuration.
# TYPE utmstack_exporter_probe_unknown_target_total counter
utmstack_exporter_probe_unknown_target_total 4
`, "utmstack_exporter_probe_unknown_target_total")
}

func TestProbeReloadKeepsEachTargetsToken(t *testing.T) {
	h := newProbeHarness(t)
	get(t, h.probe.URL+"?target=alpha")
	cfg := h.exporter.Config()
	if err := h.exporter.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	body := get(t, h.probe.URL+"?target=alpha")
	if !strings.Contains(body, `utmstack_alerts{query="open"} 2`) {
		t.Fatalf("after reload:\n%s", body)
	}
	if n := h.alpha.Requests(http.MethodPost, "/api/authenticate"); n != 1 {
		t.Fatalf("%d logins across a reload that kept alpha's settings, want 1", n)
	}
}

func TestConcurrentProbesShareOneRound(t *testing.T) {
	h := newProbeHarness(t)
	const probes = 8
	url := heldRound(t, h.beta, probes, h.exporter.ProbeHandler()) // beta has a min_interval
	bodies := make(chan string, probes)
	for range probes {
		go func() { bodies <- get(t, url+"?target=beta") }()
	}
	for range probes {
		if b := <-bodies; !strings.Contains(b, `utmstack_alerts{query="all"} 1`) {
			t.Fatalf("a probe got:\n%s", b)
		}
	}
	// beta's one query by status, and the first round's index count.
	if n := h.beta.Requests(http.MethodPost, dataPath); n != 2 {
		t.Fatalf("%d concurrent probes made %d values-with-count calls, want one round's 2", probes, n)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
