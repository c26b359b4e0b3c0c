package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/utmstack/utmstack_exporter/tools/demo/living"
)

// The coverage the demo stages: a log source that stops sending and an
// agent that stops pinging, each back after a while.
const (
	quietSource = "firewall-fortigate-traffic-2" // one of three of its type: not half the type down
	quietHost   = "ws-finance-02"                // one of eight agents: more than the tenth UTMStackAgentsOffline allows
)

// How long a source or an agent must be absent before its rule can fire,
// before the rule's for:. silentFloor is the least silence alerts.yml's
// recording rule counts (clamp_min(..., 900)); the demo's sources have
// medians well below a sixth of it. offlineAfter is the agent manager's
// own rule: offline a minute after the last ping.
const (
	silentFloor  = 15 * time.Minute
	offlineAfter = time.Minute
)

// coverageEvent is one staged absence and the alert it should raise.
type coverageEvent struct {
	what, alert   string
	at, length    time.Duration
	absentFor     time.Duration // before the rule's expression holds, in production time
	start, finish string
	stage         func(soc *living.Simulation, from, to time.Time) error
}

func coverageEvents(f flags) []coverageEvent {
	return []coverageEvent{
		{what: "the log source " + quietSource, alert: "UTMStackDataSourceSilent", at: f.silenceAt, length: f.silenceFor, absentFor: silentFloor,
			start: "stops sending logs", finish: "sends logs again",
			stage: func(soc *living.Simulation, from, to time.Time) error { return soc.Silence(quietSource, from, to) }},
		{what: "the agent on " + quietHost, alert: "UTMStackAgentsOffline", at: f.offlineAt, length: f.offlineFor, absentFor: offlineAfter,
			start: "stops pinging UTMStack", finish: "pings UTMStack again",
			stage: func(soc *living.Simulation, from, to time.Time) error { return soc.Disconnect(quietHost, from, to) }},
	}
}

// stageCoverage tells the simulation when the source is silent and the
// agent offline, counted from up, and says so when each begins and ends.
func stageCoverage(ctx context.Context, out io.Writer, soc *living.Simulation, up time.Time, f flags) error {
	for _, e := range coverageEvents(f) {
		if e.length <= 0 {
			continue
		}
		from, to := up.Add(e.at), up.Add(e.at+e.length)
		if err := e.stage(soc, from, to); err != nil {
			return err
		}
		go announce(ctx, out, from, fmt.Sprintf("%s %s for %s", e.what, e.start, e.length))
		go announce(ctx, out, to, e.what+" "+e.finish)
	}
	return nil
}

// announce prints msg at the time at, unless ctx ends first.
func announce(ctx context.Context, out io.Writer, at time.Time, msg string) {
	timer := time.NewTimer(time.Until(at))
	defer timer.Stop()
	select {
	case <-timer.C:
		_, _ = fmt.Fprintf(out, "%s  demo      %s\n", time.Now().Format("15:04:05"), msg)
	case <-ctx.Done():
	}
}

// describeCoverage says what the staged absences will show, in the demo's
// time: whether each lasts long enough for its alert to fire, given the
// rule's for: (forOf) at the demo's scale.
func describeCoverage(w *strings.Builder, f flags, forOf map[string]time.Duration) {
	scale := time.Duration(f.scale())
	label := "  Coverage    "
	for _, e := range coverageEvents(f) {
		if e.length <= 0 {
			continue
		}
		needed := (e.absentFor + forOf[e.alert]) / scale
		outcome := fmt.Sprintf("%s fires after about %s, then resolves", e.alert, model.Duration(needed))
		if e.length <= needed+2*f.interval {
			outcome = fmt.Sprintf("too short for %s, which needs about %s here", e.alert, model.Duration(needed))
		}
		fmt.Fprintf(w, "%s  at %s %s %s for %s (%s in demo time): %s.\n", label, e.at, e.what, e.start, e.length,
			model.Duration(e.length*scale), outcome)
		label = "              "
	}
}
