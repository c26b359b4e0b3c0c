//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/utmstack/utmstack_exporter/internal/chain"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const runbook = "RUNBOOK.md#"

// timeScale is how much faster the chain runs than production: Prometheus
// scrapes and evaluates every second instead of every minute, and the
// rules' for: and Alertmanager's timers are divided by the same.
const timeScale = 60

// chainStack is the whole chain of the shipped examples: the fake UTMStack,
// the exporter, Prometheus with examples/prometheus and Alertmanager with
// examples/alertmanager, both at timeScale, its webhooks pointed at a
// receiver in the test.
type chainStack struct {
	fake         *utmstacktest.Server
	upstream     *httptest.Server
	exporter     string // host:port
	prometheus   string // base URL
	alertmanager string // base URL
	notes        *notifications
	// exporterProc is the exporter's process, exporterArgs what restarts it.
	exporterProc *process
	exporterArgs []string
}

// notifications keeps every notification the receiver got.
type notifications struct {
	arrived chan chain.Notification
	seen    []chain.Notification
}

// waitFor returns the first alert, in a notification that arrived or
// arrives, for which match is true, and that notification.
func (n *notifications) waitFor(ctx context.Context, t *testing.T, what string, match func(chain.Alert) bool) (chain.Alert, chain.Notification) {
	t.Helper()
	for i := 0; ; i++ {
		for ; i < len(n.seen); i++ {
			for _, a := range n.seen[i].Alerts {
				if match(a) {
					return a, n.seen[i]
				}
			}
		}
		select {
		case note := <-n.arrived:
			n.seen = append(n.seen, note)
			i--
		case <-ctx.Done():
			t.Fatalf("no notification of %s; got %d notifications: %+v", what, len(n.seen), n.seen)
		}
	}
}

// startChain starts the chain with a fake UTMStack that holds alerts and
// lists sources and chainAgents.
func startChain(t *testing.T, alerts []utmstacktest.Alert, sources []utmstacktest.DataSource) *chainStack {
	promBin := requireTool(t, "prometheus")
	amBin := requireTool(t, "prometheus-alertmanager")
	bin := exporterBinary(t)
	dir := t.TempDir()
	ctx := deadline(t, 60*time.Second)
	s := &chainStack{notes: &notifications{arrived: make(chan chain.Notification, 256)}}

	s.fake = utmstacktest.New(utmstacktest.Options{Users: map[string]string{upstreamUser: upstreamPassword}, Alerts: alerts,
		DataSources: sources, Agents: chainAgents()})
	s.upstream = httptest.NewServer(s.fake)
	t.Cleanup(s.upstream.Close)

	// The built-in queries, and coverage read as often as timeScale makes
	// the default minute.
	config := writeFile(t, dir, "utmstack.yml", fmt.Sprintf("utmstack:\n  url: %s\n  auth:\n    username: %s\ncoverage:\n  interval: %s\n",
		s.upstream.URL, upstreamUser, model.Duration(time.Minute/timeScale)))
	s.exporterArgs = []string{"--config.file=" + config}
	s.exporterProc = start(t, bin, append(s.exporterArgs, "--web.listen-address=127.0.0.1:0"), []string{"UTMSTACK_PASSWORD=" + upstreamPassword})
	s.exporter = s.exporterProc.waitFor(ctx, t, regexp.MustCompile(`msg="Listening on" address=(127\.0\.0\.1:\d+)`))

	receiver := httptest.NewServer(chain.Receiver{Deliver: func(n chain.Notification) {
		select {
		case s.notes.arrived <- n:
		default:
			t.Errorf("more than %d notifications", cap(s.notes.arrived))
		}
	}})
	t.Cleanup(receiver.Close)
	amConfig, err := chain.AlertmanagerConfig(readExample(t, "alertmanager/alertmanager.yml"), chain.AlertmanagerOptions{
		Receiver: receiver.URL, Divisor: timeScale,
	})
	if err != nil {
		t.Fatal(err)
	}
	amAddr := freePort(t)
	start(t, amBin, []string{
		"--config.file=" + writeFile(t, dir, "alertmanager.yml", string(amConfig)),
		"--storage.path=" + filepath.Join(dir, "alertmanager"), "--web.listen-address=" + amAddr,
		"--cluster.listen-address=", "--log.level=info",
	}, nil)
	s.alertmanager = "http://" + amAddr
	waitHTTP(ctx, t, s.alertmanager+"/-/ready")

	rules, err := chain.ShortenFor(readExample(t, "prometheus/alerts.yml"), timeScale)
	if err != nil {
		t.Fatal(err)
	}
	promConfig, err := chain.PrometheusConfig(readExample(t, "prometheus/prometheus.yml"), chain.PrometheusOptions{
		Interval: time.Minute / timeScale, Exporter: s.exporter, Alertmanager: amAddr,
		RuleFiles: []string{writeFile(t, dir, "alerts.yml", string(rules))},
	})
	if err != nil {
		t.Fatal(err)
	}
	promAddr := freePort(t)
	prom := start(t, promBin, []string{
		"--config.file=" + writeFile(t, dir, "prometheus.yml", string(promConfig)),
		"--storage.tsdb.path=" + filepath.Join(dir, "prometheus"), "--web.listen-address=" + promAddr,
	}, nil)
	prom.waitFor(ctx, t, regexp.MustCompile(`Server is ready to receive web requests`))
	s.prometheus = "http://" + promAddr
	return s
}

func readExample(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile("../examples/" + path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// waitHTTP polls url until it answers 200; the server starts on its own
// schedule, so there is no event to wait on. Bounded by ctx.
func waitHTTP(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s did not answer 200", url)
		}
	}
}

// chainAlerts: one open high-severity alert among others of every status.
func chainAlerts(now time.Time) []utmstacktest.Alert {
	ts := now.Add(-10 * time.Minute).Format(time.RFC3339)
	geo := map[string]any{"geolocation": map[string]any{"countryCode": "US"}}
	return []utmstacktest.Alert{
		{"@timestamp": ts, "id": "1", "name": "Connection to known malicious IP", "severity": 3, "status": 2, "adversary": geo},
		{"@timestamp": ts, "id": "2", "name": "SSH brute force attempt", "severity": 2, "status": 2, "adversary": geo},
		{"@timestamp": ts, "id": "3", "name": "Port scan detected", "severity": 1, "status": 3},
		{"@timestamp": ts, "id": "4", "name": "Port scan detected", "severity": 1, "status": 5, "adversary": geo},
		{"@timestamp": ts, "id": "5", "name": "SSH brute force attempt", "severity": 2, "status": 1, "adversary": geo},
	}
}

// chainSources are log sources that send: the last log of each arrived
// at now, and each has a median gap of a minute, so none is silent while
// a test runs.
func chainSources(now time.Time) []utmstacktest.DataSource {
	var out []utmstacktest.DataSource
	for _, name := range []string{"fw-1", "fw-2", "fw-3"} {
		out = append(out, utmstacktest.DataSource{Source: name, DataType: "firewall-fortigate-traffic", LastSeen: now, Median: time.Minute})
	}
	return append(out, utmstacktest.DataSource{Source: "web-1", DataType: "linux", LastSeen: now, Median: time.Minute})
}

// chainAgents are online, whatever the time of their last ping.
func chainAgents() []utmstacktest.Agent {
	return []utmstacktest.Agent{
		{ID: 1, Hostname: "web-1", Version: "11.0.1", Status: "ONLINE"},
		{ID: 2, Hostname: "dc-1", Version: "11.0.1", Status: "ONLINE"},
	}
}

// A high-severity open alert pages with the labels and links a SOC needs;
// when UTMStack stops answering, the health alert pages and the data alert
// keeps firing instead of resolving.
func TestChainPagesAndKeepsFiringThroughAnOutage(t *testing.T) {
	s := startChain(t, chainAlerts(time.Now()), chainSources(time.Now()))
	ctx := deadline(t, 90*time.Second)

	isHigh := func(a chain.Alert) bool { return a.Labels["alertname"] == "UTMStackHighSeverityAlertOpen" }
	high, note := s.notes.waitFor(ctx, t, "UTMStackHighSeverityAlertOpen firing", func(a chain.Alert) bool {
		return isHigh(a) && a.Status == "firing"
	})
	if note.Path != "/pager" {
		t.Errorf("a critical alert went to %s, want /pager (routing by severity)", note.Path)
	}
	for k, want := range map[string]string{
		"severity": "critical", "utmstack_severity": "high", "job": "utmstack", "instance": s.exporter,
		"query": "open", "url": s.upstream.URL,
	} {
		if high.Labels[k] != want {
			t.Errorf("label %s=%q, want %q (labels %v)", k, high.Labels[k], want, high.Labels)
		}
	}
	for k, want := range map[string]string{
		"runbook_url":    runbook + "utmstackhighseverityalertopen",
		"alert_view_url": s.upstream.URL + "/data/alert/view?alertType=ALERT&status=IS-%3E2&severity=IS-%3E3",
	} {
		if high.Annotations[k] != want {
			t.Errorf("annotation %s=%q, want %q", k, high.Annotations[k], want)
		}
	}
	if !strings.Contains(high.Annotations["summary"], s.upstream.URL) || !strings.HasPrefix(high.Annotations["description"], "1 high-severity alert(s) are open") {
		t.Errorf("summary %q, description %q: want the UTMStack's URL and the count", high.Annotations["summary"], high.Annotations["description"])
	}

	t.Run("every dashboard panel has data", func(t *testing.T) { checkDashboard(ctx, t, s.prometheus) })

	// UTMStack dies: the connections of the scrape in flight are dropped,
	// and nothing listens any more.
	outage := s.outageAtNextScrape(ctx, t, func(w http.ResponseWriter, _ *http.Request) bool {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return true
	})
	s.upstream.CloseClientConnections()
	s.upstream.Close()
	down := s.waitForPage(ctx, t, "UTMStackDown", outage)
	if down.Labels["url"] != s.upstream.URL || down.Annotations["runbook_url"] != runbook+"utmstackdown" {
		t.Errorf("UTMStackDown labels %v, annotations %v: want the url and its runbook", down.Labels, down.Annotations)
	}

	// Five more evaluations of the rules: the data alert keeps firing, and
	// says it shows the last count seen; no "resolved" was ever sent.
	waitEvaluated(ctx, t, s.prometheus, "utmstack-alerts", outage.Add(5*time.Second))
	alert, ok := promAlert(ctx, t, s.prometheus, "UTMStackHighSeverityAlertOpen")
	if !ok || alert.State != "firing" || !strings.Contains(alert.Annotations["description"], "The exporter cannot see UTMStack now") {
		t.Errorf("UTMStackHighSeverityAlertOpen during the outage: %+v (found %v), want firing with the last count seen", alert, ok)
	}
	for len(s.notes.arrived) > 0 {
		s.notes.seen = append(s.notes.seen, <-s.notes.arrived)
	}
	for _, n := range s.notes.seen {
		for _, a := range n.Alerts {
			if isHigh(a) && a.Status == "resolved" {
				t.Errorf("UTMStackHighSeverityAlertOpen was sent as resolved while UTMStack was down: %+v", n)
			}
		}
	}
}

// A UTMStack that hangs (its calls time out) is paged on time, although a data alert of the same UTMStack was notified before:
// the health alert is not held back by the data alerts' group_interval.
// When UTMStack answers again, the resolved notification follows.
func TestChainPagesAHangOnTime(t *testing.T) {
	s := startChain(t, chainAlerts(time.Now()), chainSources(time.Now()))
	ctx := deadline(t, 90*time.Second)
	s.notes.waitFor(ctx, t, "UTMStackHighSeverityAlertOpen firing", func(a chain.Alert) bool {
		return a.Labels["alertname"] == "UTMStackHighSeverityAlertOpen" && a.Status == "firing"
	})

	release := make(chan struct{})
	hang := s.outageAtNextScrape(ctx, t, func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	})
	// The page has to arrive within 3 minutes (2 plus UTMStackDown's for:)
	// at the chain's scale, so the hang lasts until it does: a 3-minute
	// hang is paged.
	s.waitForPage(ctx, t, "UTMStackDown", hang)
	close(release)
	s.fake.SetFault(nil)
	s.notes.waitFor(ctx, t, "UTMStackDown resolved", func(a chain.Alert) bool {
		return a.Labels["alertname"] == "UTMStackDown" && a.Status == "resolved"
	})
}

// outageAtNextScrape makes fault answer every request to the fake
// UTMStack from the next one on, and returns when that request arrived:
// the outage begins as a scrape does. Its first failed scrape is then the
// one at the outage, and of the 2 minutes a page may take, the scrape
// interval's worth is left for the scrape's timeout, group_wait and the
// notification's way instead of for waiting on the next scrape.
func (s *chainStack) outageAtNextScrape(ctx context.Context, t *testing.T, fault func(http.ResponseWriter, *http.Request) bool) time.Time {
	t.Helper()
	began := make(chan time.Time, 1)
	s.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case began <- time.Now():
		default: // not the first request of the outage
		}
		return fault(w, r)
	})
	select {
	case at := <-began:
		return at
	case <-ctx.Done():
		t.Fatal("no scrape reached the fake UTMStack")
		return time.Time{}
	}
}

// waitForPage waits for the health alert's firing notification and checks
// that it reached the pager within 2 minutes (a scrape and a rule
// evaluation interval of prometheus.yml) plus the rule's for: of the
// outage, at the chain's scale, in a notification of its own: health
// alerts are routed apart from the data alerts.
func (s *chainStack) waitForPage(ctx context.Context, t *testing.T, alertname string, outage time.Time) chain.Alert {
	t.Helper()
	alert, note := s.notes.waitFor(ctx, t, alertname+" firing", func(a chain.Alert) bool {
		return a.Labels["alertname"] == alertname && a.Status == "firing" && a.StartsAt.After(outage.Add(-time.Second))
	})
	took := time.Since(outage)
	budget := (2*time.Minute + ruleFor(t, alertname)) / timeScale
	t.Logf("%s paged %v after the outage (budget %v)", alertname, took.Round(time.Millisecond), budget)
	if took > budget {
		t.Errorf("%s paged %v after the outage, want at most %v (2 minutes plus its for:, divided by %d)", alertname, took, budget, timeScale)
	}
	if note.Path != "/pager" {
		t.Errorf("%s went to %s, want /pager", alertname, note.Path)
	}
	for _, a := range note.Alerts {
		if a.Labels["alertname"] == "UTMStackHighSeverityAlertOpen" {
			t.Errorf("the page of %s shares its group with the data alerts: %+v", alertname, note)
		}
	}
	return alert
}

// ruleFor is the shipped for: of an alerting rule.
func ruleFor(t *testing.T, alertname string) time.Duration {
	t.Helper()
	fors, err := chain.RuleFor(readExample(t, "prometheus/alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := fors[alertname]
	if !ok {
		t.Fatalf("no rule %s with a for: in alerts.yml", alertname)
	}
	return d
}

type promAlertState struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

// promAlert returns Prometheus' own view of an alert.
func promAlert(ctx context.Context, t *testing.T, base, name string) (promAlertState, bool) {
	t.Helper()
	var body struct {
		Data struct {
			Alerts []promAlertState `json:"alerts"`
		} `json:"data"`
	}
	getJSON(ctx, t, base+"/api/v1/alerts", &body)
	for _, a := range body.Data.Alerts {
		if a.Labels["alertname"] == name {
			return a, true
		}
	}
	return promAlertState{}, false
}

// waitEvaluated polls until the rule group has been evaluated after since.
func waitEvaluated(ctx context.Context, t *testing.T, base, group string, since time.Time) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var body struct {
			Data struct {
				Groups []struct {
					Name           string    `json:"name"`
					LastEvaluation time.Time `json:"lastEvaluation"`
				} `json:"groups"`
			} `json:"data"`
		}
		getJSON(ctx, t, base+"/api/v1/rules", &body)
		for _, g := range body.Data.Groups {
			if g.Name == group && g.LastEvaluation.After(since) {
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("rule group %s not evaluated after %v", group, since)
		}
	}
}

func getJSON(ctx context.Context, t *testing.T, url string, into any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

// emptyByDesign are the dashboard's targets that return nothing against
// the e2e stack, each with the reason.
var emptyByDesign = map[string]string{
	"Time since last success/B": "lists queries that never succeeded; here all succeed",
}

// dashboardVariables are the values the panels are checked with: all jobs
// and instances (the variables' allValue), the built-in queries, and their
// one breakdown beyond severity, status and country (the "Top 10 by"
// panel is repeated for each).
var dashboardVariables = strings.NewReplacer(
	"$job", ".+", "$instance", ".+", "$open_query", "open", "$query", "all", "$breakdown", "rule", "$__rate_interval", "10s",
)

// checkDashboard runs every panel's expression, variables substituted,
// against Prometheus and fails on one that returns nothing, unless it is
// empty by design. Prometheus scrapes on its own schedule and range
// functions need a few samples, so each expression is polled until it has
// a result, bounded by ctx.
func checkDashboard(ctx context.Context, t *testing.T, prometheus string) {
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(readExample(t, "grafana/utmstack.json"), &dash); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	checked := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			key := p.Title + "/" + target.RefID
			expr := dashboardVariables.Replace(target.Expr)
			n := seriesEventually(ctx, t, prometheus, expr, emptyByDesign[key] == "")
			switch reason, listed := emptyByDesign[key]; {
			case n == 0 && !listed:
				t.Errorf("panel %q, target %s returns nothing: %s", p.Title, target.RefID, expr)
			case n > 0 && listed:
				t.Errorf("panel %q, target %s is listed as empty by design (%s) but returns %d series: take it off the list", p.Title, target.RefID, reason, n)
			}
			checked++
		}
	}
	if checked < 25 {
		t.Errorf("checked only %d expressions", checked)
	}
}

// seriesEventually returns how many series expr returns: as soon as it
// returns some, or, when wait is false or ctx ends, what it returns then.
func seriesEventually(ctx context.Context, t *testing.T, base, expr string, wait bool) int {
	t.Helper()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var body struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		getJSON(context.Background(), t, base+"/api/v1/query?query="+url.QueryEscape(expr), &body)
		if body.Status != "success" {
			t.Errorf("%s: %s", expr, body.Error)
			return 0
		}
		if len(body.Data.Result) > 0 || !wait {
			return len(body.Data.Result)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return 0
		}
	}
}

// A log source silent past its rhythm reaches the SOC queue naming the
// source; it keeps firing, with no "resolved" sent, while UTMStack is down
// and while the exporter is stopped, since nobody could see the source
// come back; it resolves once the exporter reads that it sends again.
func TestChainSilentSourceFiresThroughOutages(t *testing.T) {
	now := time.Now()
	quiet := utmstacktest.DataSource{Source: "fw-quiet", DataType: "firewall-fortigate-traffic", LastSeen: now.Add(-time.Hour), Median: time.Minute}
	s := startChain(t, chainAlerts(now), append(chainSources(now), quiet))
	ctx := deadline(t, 120*time.Second)

	isSilent := func(a chain.Alert) bool { return a.Labels["alertname"] == "UTMStackDataSourceSilent" }
	silent, note := s.notes.waitFor(ctx, t, "UTMStackDataSourceSilent firing", func(a chain.Alert) bool {
		return isSilent(a) && a.Status == "firing"
	})
	if note.Path != "/soc-queue" {
		t.Errorf("a warning went to %s, want /soc-queue (routing by severity)", note.Path)
	}
	for k, want := range map[string]string{
		"severity": "warning", "source": "fw-quiet", "data_type": "firewall-fortigate-traffic",
		"job": "utmstack", "instance": s.exporter, "url": s.upstream.URL,
	} {
		if silent.Labels[k] != want {
			t.Errorf("label %s=%q, want %q (labels %v)", k, silent.Labels[k], want, silent.Labels)
		}
	}
	if silent.Annotations["runbook_url"] != runbook+"utmstackdatasourcesilent" || !strings.Contains(silent.Annotations["summary"], "fw-quiet") {
		t.Errorf("annotations %v: want the source in the summary and its runbook", silent.Annotations)
	}
	for _, a := range note.Alerts {
		if a.Labels["source"] != "fw-quiet" {
			t.Errorf("a source that sends is reported silent: %+v", a)
		}
	}

	// stillFiring checks, after a few evaluations of the coverage rules
	// since from, that the alert fires in Prometheus and says it shows
	// what the exporter saw last, and that no "resolved" was sent.
	stillFiring := func(during string, from time.Time) {
		t.Helper()
		waitEvaluated(ctx, t, s.prometheus, "utmstack-coverage", from.Add(5*time.Second))
		alert, ok := promAlert(ctx, t, s.prometheus, "UTMStackDataSourceSilent")
		if !ok || alert.State != "firing" || !strings.Contains(alert.Annotations["description"], "this is what it saw last") {
			t.Errorf("UTMStackDataSourceSilent while %s: %+v (found %v), want firing with what the exporter saw last", during, alert, ok)
		}
		for len(s.notes.arrived) > 0 {
			s.notes.seen = append(s.notes.seen, <-s.notes.arrived)
		}
		for _, n := range s.notes.seen {
			for _, a := range n.Alerts {
				if isSilent(a) && a.Status == "resolved" {
					t.Fatalf("UTMStackDataSourceSilent was sent as resolved while %s: %+v", during, n)
				}
			}
		}
	}

	// UTMStack dies: the exporter runs but can read nothing.
	outage := s.outageAtNextScrape(ctx, t, func(w http.ResponseWriter, _ *http.Request) bool {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return true
	})
	s.waitForPage(ctx, t, "UTMStackDown", outage)
	stillFiring("UTMStack was down", outage)
	s.fake.SetFault(nil)

	// The exporter stops: Prometheus has no series of it at all.
	s.exporterProc.stop()
	stopped := time.Now()
	s.waitForPage(ctx, t, "UTMStackExporterDown", stopped)
	stillFiring("the exporter was stopped", stopped)

	// The source sends again, and the exporter comes back on its address.
	quiet.LastSeen = time.Now()
	s.fake.SetDataSources(append(chainSources(now), quiet))
	back := time.Now()
	s.exporterProc = start(t, exporterBinary(t), append(s.exporterArgs, "--web.listen-address="+s.exporter),
		[]string{"UTMSTACK_PASSWORD=" + upstreamPassword})
	s.exporterProc.waitFor(ctx, t, regexp.MustCompile(`msg="Listening on"`))
	resolved, _ := s.notes.waitFor(ctx, t, "UTMStackDataSourceSilent resolved", func(a chain.Alert) bool {
		return isSilent(a) && a.Status == "resolved"
	})
	if resolved.EndsAt.Before(back) {
		t.Errorf("UTMStackDataSourceSilent resolved at %v, before the source sent again at %v", resolved.EndsAt, back)
	}
}
