package main

import (
	"strings"
	"testing"
	"time"
)

// The demo promises a coverage alert only when the absence lasts long
// enough for the rule to fire at the demo's speed.
func TestDescribeCoverageIsTruthful(t *testing.T) {
	forOf := map[string]time.Duration{"UTMStackDataSourceSilent": 5 * time.Minute, "UTMStackAgentsOffline": 15 * time.Minute}
	f := flags{interval: 5 * time.Second, silenceAt: 2 * time.Minute, silenceFor: 4 * time.Minute, offlineAt: 3 * time.Minute, offlineFor: 3 * time.Minute}
	var out strings.Builder
	describeCoverage(&out, f, forOf)
	for _, want := range []string{
		// 15 minutes of silence, then for: 5m, at 12 times: 1m40s.
		"at 2m0s the log source " + quietSource + " stops sending logs for 4m0s (48m in demo time): UTMStackDataSourceSilent fires after about 1m40s, then resolves.",
		// A minute without a ping, then for: 15m: 1m20s.
		"at 3m0s the agent on " + quietHost + " stops pinging UTMStack for 3m0s (36m in demo time): UTMStackAgentsOffline fires after about 1m20s, then resolves.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}

	// At production speed, 4 minutes of silence raise nothing; a staged
	// absence of 0 is not mentioned.
	f.interval, f.offlineFor = time.Minute, 0
	out.Reset()
	describeCoverage(&out, f, forOf)
	if want := "too short for UTMStackDataSourceSilent, which needs about 20m here"; !strings.Contains(out.String(), want) {
		t.Errorf("no %q in:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), quietHost) {
		t.Errorf("an absence of 0 is described:\n%s", out.String())
	}
}
