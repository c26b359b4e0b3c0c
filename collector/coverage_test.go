package collector

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	sourcesPath = "/api/utm-data-input-statuses"
	agentsPath  = "/api/agent-manager/agents"
	agentKey    = "agent-key-5e4d3c2b1a"
)

var coverageOn = config.Coverage{DataSources: true, MaxDataSources: 1000, Agents: true, Interval: time.Minute}

// newCoverageHarness is a harness whose configuration reads coverage as
// cov says, from a UTMStack with these sources and agents.
func newCoverageHarness(t *testing.T, cov config.Coverage, sources []utmstacktest.DataSource, agents []utmstacktest.Agent) *harness {
	t.Helper()
	h := newHarness(t, ruleAlerts(), "")
	h.fake.SetDataSources(sources)
	h.fake.SetAgents(agents)
	cfg := h.config(t, "", testPassword)
	cfg.Coverage = cov
	if err := h.exporter.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	return h
}

// readCoverage starts the coverage read when one is due and waits for the
// read in flight: it runs beside the rounds, and the scrapes after it are
// served it.
func (h *harness) readCoverage(t *testing.T) {
	t.Helper()
	h.exporter.current().inst.Coverage(t.Context())
}

func unix(t time.Time) string { return fmt.Sprint(t.Unix()) }

func TestCoverageMetrics(t *testing.T) {
	long := strings.Repeat("é", 130) + "\xff"
	sources := []utmstacktest.DataSource{
		{Source: "fw-a", DataType: "syslog", LastSeen: epoch.Add(-time.Minute), Median: time.Minute},      // up
		{Source: "fw-b", DataType: "syslog", LastSeen: epoch.Add(-10 * time.Minute), Median: time.Minute}, // down: 10 x median
		{Source: "dc-1", DataType: "windows", LastSeen: epoch.Add(-time.Hour)},                            // no median: unknown
		{Source: long, DataType: "linux", LastSeen: epoch.Add(-2 * time.Hour), Median: time.Hour},         // up
	}
	agents := []utmstacktest.Agent{
		{ID: 1, Hostname: "pc1", Version: "11.0.1", Key: agentKey, LastPing: epoch},
		{ID: 2, Hostname: "pc2", Version: "11.0.1", Key: agentKey, LastPing: epoch.Add(-2 * time.Minute)},
		{ID: 3, Hostname: "pc3", Version: "10.9.0", Key: agentKey},
		{ID: 4, Hostname: "pc4", Key: agentKey, Status: "UNKNOWN"},
	}
	h := newCoverageHarness(t, coverageOn, sources, agents)
	h.readCoverage(t)
	cut := strings.Repeat("é", 128)
	h.scrape(t, `
# HELP utmstack_agents UTMStack's agents by status.
# TYPE utmstack_agents gauge
utmstack_agents{status="offline"} 2
utmstack_agents{status="online"} 1
utmstack_agents{status="unknown"} 1
# HELP utmstack_agents_by_version UTMStack's agents by version: the 10 most common, and other.
# TYPE utmstack_agents_by_version gauge
utmstack_agents_by_version{version="10.9.0"} 1
utmstack_agents_by_version{version="11.0.1"} 2
utmstack_agents_by_version{version="other"} 0
utmstack_agents_by_version{version="unknown"} 1
# HELP utmstack_coverage_up 1 when the last read of UTMStack's data sources or agents succeeded; 0 also when UTMStack refused it (403).
# TYPE utmstack_coverage_up gauge
utmstack_coverage_up{kind="agents"} 1
utmstack_coverage_up{kind="data_sources"} 1
# HELP utmstack_data_source_expected_interval_seconds UTMStack's median gap between the source's logs; absent when UTMStack has none. UTMStack calls a source down when silent for more than 6 times this.
# TYPE utmstack_data_source_expected_interval_seconds gauge
utmstack_data_source_expected_interval_seconds{data_type="linux",source="`+cut+`"} 3600
utmstack_data_source_expected_interval_seconds{data_type="syslog",source="fw-a"} 60
utmstack_data_source_expected_interval_seconds{data_type="syslog",source="fw-b"} 60
# HELP utmstack_data_source_last_seen_timestamp_seconds Unix time UTMStack last received a log from the source; at most coverage.max_data_sources sources, the most overdue first.
# TYPE utmstack_data_source_last_seen_timestamp_seconds gauge
utmstack_data_source_last_seen_timestamp_seconds{data_type="linux",source="`+cut+`"} `+unix(epoch.Add(-2*time.Hour))+`
utmstack_data_source_last_seen_timestamp_seconds{data_type="syslog",source="fw-a"} `+unix(epoch.Add(-time.Minute))+`
utmstack_data_source_last_seen_timestamp_seconds{data_type="syslog",source="fw-b"} `+unix(epoch.Add(-10*time.Minute))+`
utmstack_data_source_last_seen_timestamp_seconds{data_type="windows",source="dc-1"} `+unix(epoch.Add(-time.Hour))+`
# HELP utmstack_data_sources UTMStack's log sources by data type and state: down when silent for more than 6 times their median gap, unknown without a median; exact whatever max_data_sources keeps.
# TYPE utmstack_data_sources gauge
utmstack_data_sources{data_type="linux",state="down"} 0
utmstack_data_sources{data_type="linux",state="unknown"} 0
utmstack_data_sources{data_type="linux",state="up"} 1
utmstack_data_sources{data_type="syslog",state="down"} 1
utmstack_data_sources{data_type="syslog",state="unknown"} 0
utmstack_data_sources{data_type="syslog",state="up"} 1
utmstack_data_sources{data_type="windows",state="down"} 0
utmstack_data_sources{data_type="windows",state="unknown"} 1
utmstack_data_sources{data_type="windows",state="up"} 0
`, "utmstack_agents", "utmstack_agents_by_version", "utmstack_coverage_up", "utmstack_data_source_expected_interval_seconds",
		"utmstack_data_source_last_seen_timestamp_seconds", "utmstack_data_sources")

	_, body, _ := promScrape(t, h, "")
	for _, leak := range []string{agentKey, "SECRET", testPassword} {
		if strings.Contains(body, leak) || strings.Contains(h.logs.String(), leak) {
			t.Fatalf("%q reached the metrics or the log", leak)
		}
	}
}

// TestCoverageCapKeepsTheMostOverdue: 1,500 sources read in 3 pages, 1,000
// kept as series (the most overdue), every one counted.
func TestCoverageCapKeepsTheMostOverdue(t *testing.T) {
	var sources []utmstacktest.DataSource
	for i := range 1500 {
		// Source i has been silent for i minutes with a median of 5: from 31
		// on it is down, and the higher i the more overdue.
		sources = append(sources, utmstacktest.DataSource{Source: fmt.Sprintf("host-%04d", i), DataType: []string{"syslog", "netflow"}[i%2],
			LastSeen: epoch.Add(-time.Duration(i) * time.Minute), Median: 5 * time.Minute})
	}
	h := newCoverageHarness(t, coverageOn, sources, nil)
	h.readCoverage(t)
	series, body, _ := promScrape(t, h, "")
	if n := h.fake.Requests(http.MethodGet, sourcesPath); n != 3 {
		t.Fatalf("%d calls for 1500 sources, want 3 pages of 500", n)
	}
	lastSeen, interval, counted := 0, 0, 0.0
	for name, v := range series {
		switch {
		case strings.HasPrefix(name, "utmstack_data_source_last_seen_timestamp_seconds{"):
			lastSeen++
			var i int
			_, host, _ := strings.Cut(name, "host-")
			if _, err := fmt.Sscanf(host, "%04d", &i); err != nil || i < 500 {
				t.Fatalf("kept %s, one of the 500 least overdue", name)
			}
		case strings.HasPrefix(name, "utmstack_data_source_expected_interval_seconds{"):
			interval++
		case strings.HasPrefix(name, "utmstack_data_sources{"):
			counted += v
		}
	}
	if lastSeen != 1000 || interval != 1000 || counted != 1500 {
		t.Fatalf("%d last-seen and %d interval series, %v sources counted; want 1000, 1000, 1500:\n%.2000s", lastSeen, interval, counted, body)
	}
	if series[`utmstack_data_sources{data_type="syslog",state="down"}`] != 734 || series[`utmstack_data_sources{data_type="netflow",state="up"}`] != 15 {
		t.Fatalf("syslog down %v, netflow up %v; want 734 and 15", series[`utmstack_data_sources{data_type="syslog",state="down"}`],
			series[`utmstack_data_sources{data_type="netflow",state="up"}`])
	}
}

// TestCoverageReadAtMostEveryInterval: between reads each scrape is served
// the last one; a read is never made twice in a round, nor before the
// interval has passed. Each read is waited for before the scrape (it runs
// beside the rounds), so the scrape shows what it read.
func TestCoverageReadAtMostEveryInterval(t *testing.T) {
	sources := []utmstacktest.DataSource{{Source: "fw", DataType: "syslog", LastSeen: epoch.Add(-time.Minute), Median: time.Minute}}
	agents := []utmstacktest.Agent{{ID: 1, Hostname: "pc", Version: "11.0.1", LastPing: epoch}}
	h := newCoverageHarness(t, coverageOn, sources, agents)
	calls := func() (int, int) {
		return h.fake.Requests(http.MethodGet, sourcesPath), h.fake.Requests(http.MethodGet, agentsPath)
	}
	want := func(at string, sourcesCalls, agentsCalls int, down, offline float64) {
		t.Helper()
		h.readCoverage(t)
		series, body, _ := promScrape(t, h, "")
		h.readCoverage(t) // any read the scrape started
		s, a := calls()
		if s != sourcesCalls || a != agentsCalls {
			t.Fatalf("%s: %d data source and %d agent calls, want %d and %d", at, s, a, sourcesCalls, agentsCalls)
		}
		if series[`utmstack_data_sources{data_type="syslog",state="down"}`] != down || series[`utmstack_agents{status="offline"}`] != offline {
			t.Fatalf("%s: want %v down, %v offline:\n%s", at, down, offline, body)
		}
	}
	want("first scrape", 1, 1, 0, 0)
	// The source falls silent and the agent stops pinging; the next read
	// has not come yet, so the scrapes are served the last one.
	h.clock.Advance(30 * time.Second)
	want("30 s later", 1, 1, 0, 0)
	h.clock.Advance(29 * time.Second)
	want("59 s later", 1, 1, 0, 0)
	h.clock.Advance(10 * time.Minute)
	want("after the interval", 2, 2, 1, 1)
	want("at once again", 2, 2, 1, 1)
	// The source speaks again: seen at the next read.
	h.fake.SetDataSources([]utmstacktest.DataSource{{Source: "fw", DataType: "syslog", LastSeen: h.clock.Now(), Median: time.Minute}})
	h.clock.Advance(time.Minute)
	want("a minute later", 3, 3, 0, 1)
}

// TestCoverageForbiddenWarnsOnceAndHoldsNothingBack: a 403 is
// utmstack_coverage_up 0 and one warning naming the fix; the scrape and
// the alert counts go on, and no credential backoff starts.
func TestCoverageForbiddenWarnsOnceAndHoldsNothingBack(t *testing.T) {
	h := newCoverageHarness(t, coverageOn, []utmstacktest.DataSource{{Source: "fw", DataType: "syslog", LastSeen: epoch}},
		[]utmstacktest.Agent{{ID: 1, Hostname: "pc", LastPing: epoch}})
	h.fake.Forbid(sourcesPath, true)
	h.fake.Forbid(agentsPath, true)
	for range 3 {
		h.readCoverage(t)
		series, body, _ := promScrape(t, h, "")
		if series[`utmstack_coverage_up{kind="data_sources"}`] != 0 || series[`utmstack_coverage_up{kind="agents"}`] != 0 ||
			series["utmstack_up"] != 1 || series[`utmstack_query_up{query="all"}`] != 1 || series["utmstack_incidents_up"] != 1 ||
			series[`utmstack_exporter_auth_failures_total{reason="forbidden"}`] != 0 {
			t.Fatalf("a 403 on coverage:\n%s", body)
		}
		if strings.Contains(body, "utmstack_data_sources{") || strings.Contains(body, "utmstack_agents{") {
			t.Fatalf("coverage exported after a 403:\n%s", body)
		}
		h.clock.Advance(time.Minute)
	}
	logs := h.logs.String()
	if strings.Count(logs, "may not read data sources") != 1 || strings.Count(logs, "may not read agents") != 1 ||
		!strings.Contains(logs, "coverage.agents: false") {
		t.Fatalf("want one warning per kind naming the fix over 3 scrapes:\n%s", logs)
	}
	// Access given: the next read serves the data.
	h.fake.Forbid(sourcesPath, false)
	h.readCoverage(t)
	series, body, _ := promScrape(t, h, "")
	if series[`utmstack_coverage_up{kind="data_sources"}`] != 1 || series[`utmstack_data_sources{data_type="syslog",state="unknown"}`] != 1 {
		t.Fatalf("after access is given:\n%s", body)
	}
}

// TestCoverageNeverDelaysTheAlertCounts: two Prometheus servers with
// budgets of 10s and 5s scrape while a coverage read's agent list is held:
// both are answered with their alert counts at once, neither waits for the
// read, and the scrapes after it has ended are served it.
func TestCoverageNeverDelaysTheAlertCounts(t *testing.T) {
	h := newCoverageHarness(t, coverageOn, []utmstacktest.DataSource{{Source: "fw", DataType: "syslog", LastSeen: epoch, Median: time.Minute}},
		[]utmstacktest.Agent{{ID: 1, Hostname: "pc", LastPing: epoch}})
	h.exporter.opts.TimeoutOffset = 0
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == agentsPath {
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return false
	})
	long := asyncScrape(h.server.URL, "10")
	select {
	case <-entered: // the read is in flight, its agent list held
	case <-time.After(time.Minute): // a bound: utmstack.timeout ends a read long before
		t.Fatal("the coverage read never asked for the agent list")
	}
	short := asyncScrape(h.server.URL, "5")
	for _, body := range []string{<-short, <-long} {
		if !strings.Contains(body, "utmstack_up 1") || !strings.Contains(body, `utmstack_query_up{query="all"} 1`) ||
			!strings.Contains(body, "utmstack_incidents_up 1") || strings.Contains(body, "utmstack_coverage_up") {
			t.Fatalf("a scrape during a held coverage read, want its counts and no coverage yet:\n%s", body)
		}
	}
	close(release)
	h.readCoverage(t)
	series, body, _ := promScrape(t, h, "")
	if series[`utmstack_coverage_up{kind="data_sources"}`] != 1 || series[`utmstack_coverage_up{kind="agents"}`] != 1 ||
		series[`utmstack_agents{status="online"}`] != 1 {
		t.Fatalf("after the read ended:\n%s", body)
	}
	if n := h.fake.Requests(http.MethodGet, agentsPath); n != 1 {
		t.Fatalf("%d agent lists asked, want one read's", n)
	}
}

// Every coverage series an answer can hold is counted: more data types than
// kept, more sources than max_data_sources, more versions than the top.
func TestMaxSeriesCountsCoverage(t *testing.T) {
	var sources []utmstacktest.DataSource
	for i := range 130 {
		sources = append(sources, utmstacktest.DataSource{Source: fmt.Sprint("s", i), DataType: fmt.Sprint("type", i), LastSeen: epoch, Median: time.Minute})
	}
	var agents []utmstacktest.Agent
	for i := range 15 {
		agents = append(agents, utmstacktest.Agent{ID: i + 1, Hostname: fmt.Sprint("pc", i), Version: fmt.Sprint("1.", i), LastPing: epoch})
	}
	cov := coverageOn
	cov.MaxDataSources = 7
	h := newCoverageHarness(t, cov, sources, agents)
	h.readCoverage(t)
	_, body, _ := promScrape(t, h, "")
	got := 0
	for line := range strings.SplitSeq(body, "\n") {
		for _, family := range []string{"utmstack_data_source", "utmstack_agents", "utmstack_coverage_up"} {
			if strings.HasPrefix(line, family) {
				got++
			}
		}
	}
	if want := maxCoverageSeries(cov); got != want {
		t.Fatalf("%d coverage series, the bound says %d:\n%s", got, want, body)
	}
	if !strings.Contains(body, `utmstack_data_sources{data_type="other",state="up"} 30`) {
		t.Fatalf("the 30 data types beyond the 100 kept are not summed as other:\n%s", body)
	}
}

func TestCoverageMetricsPassLint(t *testing.T) {
	h := newCoverageHarness(t, coverageOn,
		[]utmstacktest.DataSource{{Source: "fw", DataType: "syslog", LastSeen: epoch, Median: time.Minute}, {Source: "dc", DataType: "windows", LastSeen: epoch}},
		[]utmstacktest.Agent{{ID: 1, Hostname: "pc", Version: "11.0.1", LastPing: epoch}})
	h.readCoverage(t)
	problems, err := testutil.GatherAndLint(h.gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	target := h.exporter.current()
	c := target.collector(target.inst.Scrape(t.Context()), 250*time.Millisecond)
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("CollectAndLint: %v %v", err, problems)
	}
	if n := testutil.CollectAndCount(c, "utmstack_coverage_up"); n != 2 {
		t.Fatalf("%d utmstack_coverage_up series, want 2", n)
	}
}
