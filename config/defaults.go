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

	defaultIndexPattern = "v11-alert-*" // v11; v10 installations use alert-*
	defaultWindow       = 24 * time.Hour
	// A minute changes a 24h count by at most the alerts of one minute and
	// lets OpenSearch's request cache answer repeated and HA-pair scrapes.
	defaultWindowRounding = time.Minute
	defaultTopCountries   = 20
	defaultSeverityField  = "severity"
	defaultStatusField    = "status"
	// The adversary's country, as UTMStack's own alert map shows it.
	defaultCountryField = "adversary.geolocation.countryCode.keyword"

	// UTMStack's AlertStatus OPEN.
	statusOpen = 2
)

func defaultDefaults() Defaults {
	return Defaults{
		IndexPattern:          defaultIndexPattern,
		Window:                defaultWindow,
		WindowRounding:        defaultWindowRounding,
		ExcludeFalsePositives: true,
		ExcludeEchoes:         true,
		Fields: Fields{
			Severity: defaultSeverityField,
			Status:   defaultStatusField,
			Country:  defaultCountryField,
		},
		TopCountries: defaultTopCountries,
	}
}

// DefaultQueries is the set used when the file has no `queries`. It mirrors
// UTMStack's alert view: every alert of the window, with the newest alert's
// time (a silent alert pipeline shows), and the open ones of all time (an
// open alert stays open however old it is), with the oldest open alert's
// time (a missed triage target shows). Both inherit d (the open filter
// uses d.Fields.Status), and breakdowns, so a redefined rule breakdown
// applies.
func DefaultQueries(d Defaults, breakdowns map[string]Breakdown) []Query {
	// The names are all known: resolveBy reports no problem.
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
