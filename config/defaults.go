package config

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Built-in values, as CONFIGURATION.md documents them.
const (
	defaultTimeout        = 10 * time.Second
	defaultMaxConcurrency = 4
	defaultMinInterval    = 0
	defaultIndexPattern   = "v11-alert-*" // v10 installations: alert-*
	statusOpen            = 2             // UTMStack's AlertStatus OPEN
)

func defaultDefaults() Defaults {
	return Defaults{
		IndexPattern: defaultIndexPattern,
		Window:       24 * time.Hour,
		// A minute changes a 24h count by at most the alerts of one minute,
		// and lets OpenSearch's request cache answer repeated scrapes.
		WindowRounding:        time.Minute,
		ExcludeFalsePositives: true,
		ExcludeEchoes:         true,
		// The country is the adversary's, as UTMStack's own alert map shows.
		Fields:       Fields{Severity: "severity", Status: "status", Country: "adversary.geolocation.countryCode.keyword"},
		TopCountries: 20,
	}
}

// DefaultQueries is the set used when the file has no `queries`, as
// UTMStack's alert view: every alert of the window with the newest one's
// time (a silent pipeline shows), and the open ones of all time (open
// however old) with the oldest one's time (a missed triage shows). Both
// take d and breakdowns, so `defaults` and a redefined rule apply.
func DefaultQueries(d Defaults, breakdowns map[string]Breakdown) []Query {
	by := func(q Query, names ...string) []Breakdown { return resolveBy(&problems{}, "", names, q, breakdowns) }
	all := fromDefaults(d)
	all.Name = "all"
	all.Help = fmt.Sprintf("All alerts %s, by severity, status, country and rule.", windowPhrase(d.Window))
	all.By = by(all, BySeverity, ByStatus, ByCountry, "rule")
	all.Ages = []string{AgeNewest}

	open := fromDefaults(d)
	open.Name = "open"
	open.Window = 0
	open.Help = fmt.Sprintf("Open alerts (status %d) %s, by severity, country and rule.", statusOpen, windowPhrase(open.Window))
	// int, the type YAML gives `value: 2`, so both paths send the same JSON.
	open.Filters = []utmstack.Filter{{Field: d.Fields.Status, Operator: "IS", Value: statusOpen}}
	open.By = by(open, BySeverity, ByCountry, "rule")
	open.Ages = []string{AgeOldest}

	return []Query{all, open}
}

func fromDefaults(d Defaults) Query {
	return Query{
		IndexPattern:          d.IndexPattern,
		Window:                d.Window,
		WindowRounding:        d.WindowRounding,
		ExcludeFalsePositives: d.ExcludeFalsePositives,
		ExcludeEchoes:         d.ExcludeEchoes,
		Fields:                d.Fields,
		TopCountries:          d.TopCountries,
	}
}

// windowPhrase words a window for help text: "of the last 7 days".
func windowPhrase(w time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case w == 0:
		return "of all time"
	case w == day:
		return "of the last day"
	case w%day == 0:
		return fmt.Sprintf("of the last %d days", w/day)
	case w == time.Hour:
		return "of the last hour"
	case w%time.Hour == 0:
		return fmt.Sprintf("of the last %d hours", w/time.Hour)
	}
	return "of the last " + model.Duration(w).String()
}
