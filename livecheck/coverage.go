package livecheck

import (
	"fmt"
	"strings"

	"github.com/utmstack/utmstack_exporter/round"
)

// judgeCoverage reports what the round read of UTMStack's log sources and
// agents: how many, how many down or offline, and a read refused or
// failing, with its fix.
func (r *liveReport) judgeCoverage(c *round.CoverageResult) {
	if c == nil {
		return
	}
	if d := c.DataSources; d != nil {
		switch {
		case d.Forbidden():
			r.problem("give the user (or the API key's owner) ROLE_USER, or set coverage.data_sources: false",
				"the user may not read UTMStack's data sources (403 on /api/utm-data-input-statuses)")
		case d.Err != nil:
			r.problem("check UTMStack's backend log; set coverage.data_sources: false to stop reading them",
				"cannot read UTMStack's data sources: %v", d.Err)
		default:
			n := map[string]int{}
			for _, s := range d.States {
				n[s.State] += s.Count
			}
			r.add("data sources", "%d: %d down (silent for more than 6 x their median gap), %d without a median",
				n["up"]+n["down"]+n["unknown"], n["down"], n["unknown"])
		}
	}
	if a := c.Agents; a != nil {
		switch {
		case a.Forbidden():
			r.problem("give the user (or the API key's owner) ROLE_USER, or set coverage.agents: false",
				"the user may not read UTMStack's agents (403 on /api/agent-manager/agents)")
		case a.Err != nil:
			r.problem("check that UTMStack's agent manager runs; set coverage.agents: false to stop reading agents",
				"cannot read UTMStack's agents: %v", a.Err)
		default:
			total := 0
			var parts []string
			for i, status := range round.AgentStatuses {
				total += a.Statuses[i]
				parts = append(parts, fmt.Sprintf("%s %d", status, a.Statuses[i]))
			}
			r.add("agents", "%d: %s", total, strings.Join(parts, ", "))
		}
	}
}
