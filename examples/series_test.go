package examples

import (
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/utmstack/utmstack_exporter/collector"
	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	fakeUser     = "prometheus"
	fakePassword = "series-test-password"
	// The job and instance Prometheus adds to every scraped series, as the
	// example prometheus.yml names them.
	scrapeJob      = "utmstack"
	scrapeInstance = "127.0.0.1:9850"
)

// seriesAlerts has an alert of every severity and status, recent and old,
// with and without a country, so that every series the queries can
// produce is there: the ages too, which are absent when no alert matches.
func seriesAlerts(now time.Time) []utmstacktest.Alert {
	at := func(ago time.Duration) string { return now.Add(-ago).Format(time.RFC3339) }
	geo := map[string]any{"geolocation": map[string]any{"countryCode": "US"}}
	alerts := []utmstacktest.Alert{
		{"@timestamp": at(3 * 24 * time.Hour), "id": "old", "name": "Old open alert", "severity": 3, "status": 2, "adversary": geo,
			"category": "Discovery", "dataSource": "fw-1", "dataType": "firewall"},
	}
	id := 0
	for severity := 1; severity <= 3; severity++ {
		for _, status := range []int{1, 2, 3, 4, 5} {
			id++
			a := utmstacktest.Alert{"@timestamp": at(time.Duration(id) * time.Minute), "id": strings.Repeat("a", id),
				"name": "Rule " + string(rune('A'+id)), "severity": severity, "status": status,
				"category": "Discovery", "dataSource": "host-1", "dataType": "linux"}
			if id%2 == 0 {
				a["adversary"] = geo
			}
			alerts = append(alerts, a)
		}
	}
	return alerts
}

// seriesSources are the log sources of a UTMStack that receives logs: it
// lists a source once its first log arrived, so a UTMStack in use always
// has some. One source is silent past its rhythm, one has no median yet,
// so that every state and the silence rule have series.
func seriesSources(now time.Time) []utmstacktest.DataSource {
	return []utmstacktest.DataSource{
		{Source: "fw-1", DataType: "firewall", LastSeen: now.Add(-10 * time.Second), Median: 5 * time.Second},
		{Source: "fw-2", DataType: "firewall", LastSeen: now.Add(-2 * time.Hour), Median: 5 * time.Second},
		{Source: "host-1", DataType: "linux", LastSeen: now.Add(-time.Minute), Median: time.Minute},
		{Source: "dc-1", DataType: "wineventlog", LastSeen: now.Add(-time.Minute)},
	}
}

// seriesAgents are the agents of that UTMStack: online, offline, and two
// versions.
func seriesAgents(now time.Time) []utmstacktest.Agent {
	return []utmstacktest.Agent{
		{ID: 1, Hostname: "host-1", Version: "11.0.1", LastPing: now},
		{ID: 2, Hostname: "dc-1", Version: "11.0.1", LastPing: now},
		{ID: 3, Hostname: "pc-7", Version: "10.9.0", LastPing: now.Add(-time.Hour)},
	}
}

// exportedSeries runs the exporter, as main wires it, against the fake
// UTMStack with a configuration file whose text is cfg (%URL% standing for
// the fake's address), scrapes /metrics like Prometheus, and returns every
// series with the labels Prometheus adds: job, instance, and the scrape's
// own up. The first round reads UTMStack's version and index totals, which
// later scrapes export, so it scrapes twice.
func exportedSeries(t *testing.T, cfg string) []map[string]string {
	t.Helper()
	now := time.Now()
	fake := utmstacktest.New(utmstacktest.Options{Users: map[string]string{fakeUser: fakePassword}, Alerts: seriesAlerts(now),
		DataSources: seriesSources(now), Agents: seriesAgents(now)})
	upstream := httptest.NewServer(fake)
	t.Cleanup(upstream.Close)

	dir := t.TempDir()
	file := filepath.Join(dir, "utmstack.yml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(cfg, "%URL%", upstream.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(versioncollector.NewCollector("utmstack_exporter"))
	exporter := collector.New(collector.Options{Metrics: collector.NewProcessMetrics(registry), Gatherer: registry})
	getenv := func(k string) (string, bool) { return fakePassword, k == "UTMSTACK_PASSWORD" }
	reloader := config.NewReloader(file, getenv, exporter.Apply, slog.New(slog.DiscardHandler), registry)
	if err := reloader.Reload(); err != nil {
		t.Fatalf("the configuration:\n%s\n%v", cfg, err)
	}
	server := httptest.NewServer(exporter)
	t.Cleanup(server.Close)

	scrape(t, server.URL)
	return append(scrape(t, server.URL), map[string]string{"__name__": "up", "job": scrapeJob, "instance": scrapeInstance})
}

// scrape returns the series of one scrape, with the job and instance
// labels Prometheus adds.
func scrape(t *testing.T, url string) []map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var series []map[string]string
	for name, family := range families {
		for _, m := range family.GetMetric() {
			s := map[string]string{"__name__": name, "job": scrapeJob, "instance": scrapeInstance}
			for _, l := range m.GetLabel() {
				s[l.GetName()] = l.GetValue()
			}
			if (name == "utmstack_up" || name == "utmstack_query_up") && m.GetGauge().GetValue() != 1 {
				t.Fatalf("%s %v is not 1: the fake UTMStack did not answer every query", name, s)
			}
			series = append(series, s)
		}
	}
	return series
}

// withRecordingRules adds the series of the rule file's recording rules:
// each keeps the labels of the series it records (job, instance and the
// labels of its first selector's series).
func withRecordingRules(t *testing.T, series []map[string]string, rules []rule) []map[string]string {
	t.Helper()
	out := slices.Clone(series)
	for _, r := range rules {
		if r.Record == "" {
			continue
		}
		sels, err := selectorsOf(r.Expr)
		if err != nil || len(sels) == 0 {
			t.Fatalf("recording rule %s: %v, %d selectors", r.Record, err, len(sels))
		}
		found := false
		for _, s := range series {
			if sels[0].matches(s) {
				recorded := maps.Clone(s)
				recorded["__name__"] = r.Record
				out = append(out, recorded)
				found = true
			}
		}
		if !found {
			t.Errorf("recording rule %s: its first selector %s matches no series", r.Record, sels[0])
		}
	}
	return out
}
