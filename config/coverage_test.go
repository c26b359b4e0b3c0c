package config

import (
	"testing"
	"time"
)

func TestCoverageDefaultsAndSettings(t *testing.T) {
	cfg, err := parse("utmstack: {url: https://h}\n", withKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Coverage{DataSources: true, MaxDataSources: 1000, Agents: true, Interval: time.Minute}); cfg.Coverage != want {
		t.Errorf("coverage %+v, want %+v", cfg.Coverage, want)
	}
	cfg, err = parse("utmstack: {url: https://h}\ncoverage: {data_sources: false, max_data_sources: 50, agents: false, interval: 5m}\n", withKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Coverage{MaxDataSources: 50, Interval: 5 * time.Minute}); cfg.Coverage != want {
		t.Errorf("coverage %+v, want %+v", cfg.Coverage, want)
	}
}

func TestCoverageErrors(t *testing.T) {
	const url = "utmstack: {url: https://h}\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"max_data_sources", url + "coverage: {max_data_sources: 0}\n", `coverage.max_data_sources: 0 is out of range; accepted: 1 to 10000`},
		{"interval zero", url + "coverage: {interval: 0s}\n", `coverage.interval: "0s" must be greater than 0`},
		{"interval", url + "coverage: {interval: often}\n", `coverage.interval: "often" is not a valid duration; use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s or 7d`},
		{"bool", url + "coverage: {agents: yes please}\n", `coverage.agents: "yes please" is not accepted; accepted: true, false (line 2)`},
		{"unknown key", url + "coverage:\n  sources: true\n", `coverage: unknown key "sources"; accepted: data_sources, max_data_sources, agents, interval (line 3)`},
		// One coverage for all: a target takes the keys of utmstack only.
		{"in a target", url + "targets:\n  east:\n    url: https://e\n    auth: {api_key: k}\n    coverage: {agents: false}\n",
			`targets.east: unknown key "coverage"; accepted: url, timeout, max_concurrency, min_interval, auth, tls_config, proxy_url, queries (line 6)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.yaml, withKey)
			checkErr(t, err, tc.want)
		})
	}
}
