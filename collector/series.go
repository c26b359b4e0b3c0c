package collector

import (
	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/round"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// MaxSeries is the most series of UTMStack data and health one answer for
// these queries can hold, counters and Go and process metrics not included.
func MaxSeries(queries []config.Query, incidents bool, coverage config.Coverage) int {
	n := 3 // utmstack_up, utmstack_scrape_duration_seconds, utmstack_exporter_target_info
	n++    // utmstack_info
	patterns := map[string]bool{}
	for _, q := range queries {
		patterns[q.IndexPattern] = true
		n += len(queryHealth) + 1 + len(q.Ages) // health, utmstack_alerts, ages
		for _, b := range q.By {
			n += round.MaxValues(b)
		}
	}
	n += len(patterns) // utmstack_index_alerts
	if incidents {
		n += 1 + len(utmstack.IncidentStatuses)
	}
	return n + maxCoverageSeries(coverage)
}
