package living

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// The log sources of the simulated SOC: three of each data type its alerts
// come from, named as the alerts' dataSource, each with its usual gap
// between logs (UTMStack's median). Gaps of half a minute or more keep a
// source that sends from being judged down between two steps of the demo.
var demoSourceGaps = map[string]time.Duration{
	"linux": time.Minute, "wineventlog": 30 * time.Second, "firewall-fortigate-traffic": 30 * time.Second,
	"firewall-paloalto": 30 * time.Second, "nginx": time.Minute, "o365": 5 * time.Minute, "dns": 30 * time.Second,
	"antivirus-esmc-eset": 5 * time.Minute, "aws": 5 * time.Minute, "firewall-sophos-xg": time.Minute, "suricata": 30 * time.Second,
}

const sourcesPerType = 3

// demoAgents are the hosts with a UTMStack agent, and their versions: most
// up to date, two a release behind.
var demoAgents = []struct{ hostname, os, version string }{
	{"linux-1", "Linux", "11.0.1"}, {"linux-2", "Linux", "11.0.1"}, {"linux-3", "Linux", "11.0.0"},
	{"wineventlog-1", "Windows", "11.0.1"}, {"wineventlog-2", "Windows", "11.0.1"}, {"wineventlog-3", "Windows", "11.0.1"},
	{"ws-finance-01", "Windows", "11.0.0"}, {"ws-finance-02", "Windows", "11.0.1"},
}

// Sources names the simulation's log sources, as UTMStack lists them.
func Sources() []string {
	var out []string
	for _, dataType := range slices.Sorted(maps.Keys(demoSourceGaps)) {
		for i := 1; i <= sourcesPerType; i++ {
			out = append(out, fmt.Sprintf("%s-%d", dataType, i))
		}
	}
	return out
}

// Agents names the hosts of the simulation's agents.
func Agents() []string {
	out := make([]string, len(demoAgents))
	for i, a := range demoAgents {
		out[i] = a.hostname
	}
	return out
}

// absence is a span during which a source sends no log, or an agent does
// not ping.
type absence struct{ from, to time.Time }

// lastHeard is when the source or agent was last heard from at now: now
// outside the absences, and during one its start, moved back so that the
// absence reads Scale times as long as it has lasted.
func (l *Simulation) lastHeard(absences []absence, now time.Time) time.Time {
	for _, a := range absences {
		if !now.Before(a.from) && now.Before(a.to) {
			return now.Add(-time.Duration(l.opts.Scale) * now.Sub(a.from))
		}
	}
	return now
}

// Silence makes the source send no log from from until to. It fails for a
// source not among Sources.
func (l *Simulation) Silence(source string, from, to time.Time) error {
	if !slices.Contains(Sources(), source) {
		return fmt.Errorf("no log source %q in the simulation; it has %v", source, Sources())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.silent[source] = append(l.silent[source], absence{from, to})
	return nil
}

// Disconnect makes the agent of the host stop pinging from from until to.
// It fails for a host not among Agents.
func (l *Simulation) Disconnect(hostname string, from, to time.Time) error {
	if !slices.Contains(Agents(), hostname) {
		return fmt.Errorf("no agent on host %q in the simulation; it has %v", hostname, Agents())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.offline[hostname] = append(l.offline[hostname], absence{from, to})
	return nil
}

// publishCoverage gives the server the sources and agents as of now: each
// source last sent a log now unless silenced, each agent pinged now unless
// disconnected; the server judges the agents' status by that ping.
func (l *Simulation) publishCoverage(now time.Time) {
	var sources []utmstacktest.DataSource
	for _, dataType := range slices.Sorted(maps.Keys(demoSourceGaps)) {
		for i := 1; i <= sourcesPerType; i++ {
			name := fmt.Sprintf("%s-%d", dataType, i)
			sources = append(sources, utmstacktest.DataSource{Source: name, DataType: dataType,
				LastSeen: l.lastHeard(l.silent[name], now), Median: demoSourceGaps[dataType]})
		}
	}
	l.server.SetDataSources(sources)
	agents := make([]utmstacktest.Agent, len(demoAgents))
	for i, a := range demoAgents {
		agents[i] = utmstacktest.Agent{ID: i + 1, Hostname: a.hostname, IP: fmt.Sprintf("10.0.1.%d", 11+i),
			OS: a.os, Platform: strings.ToLower(a.os), Version: a.version, LastPing: l.lastHeard(l.offline[a.hostname], now)}
	}
	l.server.SetAgents(agents)
}
