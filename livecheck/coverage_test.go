package livecheck

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/tools/demo/living"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

func TestLiveCheckReportsCoverage(t *testing.T) {
	fake, url := liveFake(t, living.Alerts(time.Now(), 300, 1))
	now := time.Now()
	fake.SetDataSources([]utmstacktest.DataSource{
		{Source: "fw-1", DataType: "syslog", LastSeen: now, Median: time.Minute},
		{Source: "fw-2", DataType: "syslog", LastSeen: now.Add(-time.Hour), Median: time.Minute},
		{Source: "dc-1", DataType: "windows", LastSeen: now},
	})
	fake.SetAgents([]utmstacktest.Agent{{ID: 1, Hostname: "a", LastPing: now}, {ID: 2, Hostname: "b", LastPing: now.Add(-time.Hour)}})
	run := func() (bool, string) {
		cfg, err := config.Parse([]byte("utmstack:\n  url: "+url+"\n"+livePassword), "live.yml", nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Coverage = config.Coverage{DataSources: true, MaxDataSources: 1000, Agents: true, Interval: time.Minute}
		var out bytes.Buffer
		return Run(context.Background(), cfg, &out, "test"), out.String()
	}
	ok, out := run()
	for _, want := range []string{"3: 1 down (silent", "1 without a median", "2: online 1, offline 1, unknown 0", "no problem found"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if !ok {
		t.Fatalf("readable coverage failed the check:\n%s", out)
	}

	fake.Forbid("/api/utm-data-input-statuses", true)
	fake.SetAgentManagerDown(true)
	ok, out = run()
	for _, want := range []string{"may not read UTMStack's data sources (403", "coverage.data_sources: false",
		"cannot read UTMStack's agents", "UNAVAILABLE", "agent manager runs"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if ok {
		t.Fatalf("a refused and a failing coverage read passed the check:\n%s", out)
	}
}
