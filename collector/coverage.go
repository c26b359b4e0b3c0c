package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/round"
)

// The coverage families: what UTMStack knows of its own log sources and
// agents, read at most every coverage.interval.
var (
	sourceLastSeenDesc = prometheus.NewDesc("utmstack_data_source_last_seen_timestamp_seconds",
		"Unix time UTMStack last received a log from the source; at most coverage.max_data_sources sources, the most overdue first.",
		[]string{"data_type", "source"}, nil)
	sourceIntervalDesc = prometheus.NewDesc("utmstack_data_source_expected_interval_seconds",
		"UTMStack's median gap between the source's logs; absent when UTMStack has none. UTMStack calls a source down when silent for more than 6 times this.",
		[]string{"data_type", "source"}, nil)
	sourcesDesc = prometheus.NewDesc("utmstack_data_sources",
		"UTMStack's log sources by data type and state: down when silent for more than 6 times their median gap, unknown without a median; exact whatever max_data_sources keeps.",
		[]string{"data_type", "state"}, nil)
	agentsDesc = prometheus.NewDesc("utmstack_agents",
		"UTMStack's agents by status.", []string{"status"}, nil)
	agentsByVersionDesc = prometheus.NewDesc("utmstack_agents_by_version",
		"UTMStack's agents by version: the 10 most common, and other.", []string{"version"}, nil)
	coverageUpDesc = prometheus.NewDesc("utmstack_coverage_up",
		"1 when the last read of UTMStack's data sources or agents succeeded; 0 also when UTMStack refused it (403).", []string{"kind"}, nil)
)

// collectCoverage sends the coverage series of the last read; a failed
// read sends only its utmstack_coverage_up 0.
func collectCoverage(ch chan<- prometheus.Metric, c *round.CoverageResult) {
	if c == nil {
		return
	}
	if d := c.DataSources; d != nil {
		gauge(ch, coverageUpDesc, boolValue(d.Err == nil), "data_sources")
		for _, s := range d.Sources {
			if !s.LastSeen.IsZero() {
				gauge(ch, sourceLastSeenDesc, float64(s.LastSeen.Unix()), s.DataType, s.Source)
			}
			if s.HasMedian {
				gauge(ch, sourceIntervalDesc, s.Median.Seconds(), s.DataType, s.Source)
			}
		}
		for _, n := range d.States {
			gauge(ch, sourcesDesc, float64(n.Count), n.DataType, n.State)
		}
	}
	if a := c.Agents; a != nil {
		gauge(ch, coverageUpDesc, boolValue(a.Err == nil), "agents")
		if a.Err == nil {
			for i, status := range round.AgentStatuses {
				gauge(ch, agentsDesc, float64(a.Statuses[i]), status)
			}
			for _, v := range a.Versions {
				gauge(ch, agentsByVersionDesc, float64(v.Count), v.Label)
			}
		}
	}
}

// maxCoverageSeries is the most coverage series one answer holds.
func maxCoverageSeries(c config.Coverage) int {
	n := 0
	if c.DataSources {
		n += 1 + 2*max(c.MaxDataSources, 0) + round.MaxDataTypes*len(round.SourceStates)
	}
	if c.Agents {
		n += 1 + len(round.AgentStatuses) + round.TopVersions + 1
	}
	return n
}
