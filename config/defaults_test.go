package config

import (
	"reflect"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

var wantDefaults = Defaults{
	IndexPattern:          "v11-alert-*",
	Window:                24 * time.Hour,
	WindowRounding:        time.Minute,
	ExcludeFalsePositives: true,
	ExcludeEchoes:         true,
	Fields:                Fields{Severity: "severity", Status: "status", Country: "adversary.geolocation.countryCode.keyword"},
	TopCountries:          20,
}

func TestDefaultsApplied(t *testing.T) {
	cfg, err := parse("utmstack: {url: https://h}\n", withKey)
	if err != nil {
		t.Fatal(err)
	}
	u := cfg.UTMStack
	if u.Timeout != 10*time.Second || u.MaxConcurrency != 4 || u.MinInterval != 0 || u.ProxyURL != nil {
		t.Errorf("utmstack defaults: timeout %v, max_concurrency %d, min_interval %v, proxy %v", u.Timeout, u.MaxConcurrency, u.MinInterval, u.ProxyURL)
	}
	if u.TLSConfig != (commoncfg.TLSConfig{}) {
		t.Errorf("tls_config %+v, want zero", u.TLSConfig)
	}
	if cfg.Defaults != wantDefaults {
		t.Errorf("defaults %+v\nwant %+v", cfg.Defaults, wantDefaults)
	}
	if !reflect.DeepEqual(cfg.Queries, DefaultQueries(wantDefaults, builtInBreakdowns)) {
		t.Errorf("queries %+v, want the built-in set", cfg.Queries)
	}
}

// `queries:` with no value counts as absent, not as an empty list.
func TestNullQueriesUseBuiltIns(t *testing.T) {
	cfg, err := parse("utmstack: {url: https://h}\nqueries:\n", withKey)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Queries, DefaultQueries(wantDefaults, builtInBreakdowns)) {
		t.Errorf("queries %+v, want the built-in set", cfg.Queries)
	}
}

func TestSettingsRead(t *testing.T) {
	cfg, err := parse(`utmstack:
  url: https://h
  timeout: 1m30s
  max_concurrency: 64
  min_interval: 30s
defaults:
  index_pattern: alert-*
  window: 0
  window_rounding: 1h
  exclude_false_positives: false
  exclude_echoes: false
  fields: {country: source.countryCode.keyword}
  top_countries: 300
`, withKey)
	if err != nil {
		t.Fatal(err)
	}
	u := cfg.UTMStack
	if u.Timeout != 90*time.Second || u.MaxConcurrency != 64 || u.MinInterval != 30*time.Second {
		t.Errorf("utmstack: timeout %v, max_concurrency %d, min_interval %v", u.Timeout, u.MaxConcurrency, u.MinInterval)
	}
	want := Defaults{
		IndexPattern:   "alert-*",
		WindowRounding: time.Hour,
		Fields:         Fields{Severity: "severity", Status: "status", Country: "source.countryCode.keyword"},
		TopCountries:   300,
	}
	if cfg.Defaults != want {
		t.Errorf("defaults %+v\nwant %+v", cfg.Defaults, want)
	}
	// The built-in set follows the defaults.
	if q := cfg.Queries[0]; q.IndexPattern != "alert-*" || q.Window != 0 || q.ExcludeEchoes || q.Fields != want.Fields {
		t.Errorf("built-in query did not inherit the defaults: %+v", q)
	}
}

func TestQueryOverrides(t *testing.T) {
	cfg, err := parse(`utmstack: {url: https://h}
defaults:
  window: 12h
  fields: {status: statusCode}
queries:
  - name: inherits
  - name: overrides
    help: Everything overridden.
    index_pattern: alert-*
    window: 7d
    window_rounding: 0
    exclude_false_positives: false
    exclude_echoes: false
    fields: {severity: severityLabel.keyword, country: source.countryCode.keyword}
    top_countries: 5
    filters:
      - {field: status, operator: IS, value: 2}
    by: [country, severity]
  - name: zero_window
    window: 0s
    exclude_echoes: true
    by: []
`, withKey)
	if err != nil {
		t.Fatal(err)
	}
	inherited := fromDefaults(Defaults{
		IndexPattern: "v11-alert-*", Window: 12 * time.Hour, WindowRounding: time.Minute, ExcludeFalsePositives: true, ExcludeEchoes: true,
		Fields: Fields{Severity: "severity", Status: "statusCode", Country: "adversary.geolocation.countryCode.keyword"}, TopCountries: 20,
	})
	want := []Query{
		func() Query { q := inherited; q.Name = "inherits"; q.By = []Breakdown{}; return q }(),
		{
			Name: "overrides", Help: "Everything overridden.", IndexPattern: "alert-*", Window: 7 * 24 * time.Hour,
			// fields: each sub-key overrides separately; status still comes from defaults.
			Fields:       Fields{Severity: "severityLabel.keyword", Status: "statusCode", Country: "source.countryCode.keyword"},
			TopCountries: 5,
			Filters:      []utmstack.Filter{{Field: "status", Operator: "IS", Value: 2}},
			By: []Breakdown{{Name: "country", Field: "source.countryCode.keyword", Top: 5},
				{Name: "severity", Field: "severityLabel.keyword"}},
		},
		func() Query { q := inherited; q.Name = "zero_window"; q.Window = 0; q.By = []Breakdown{}; return q }(),
	}
	if !reflect.DeepEqual(cfg.Queries, want) {
		t.Errorf("queries:\n%+v\nwant:\n%+v", cfg.Queries, want)
	}
}

func TestDefaultQueries(t *testing.T) {
	got := DefaultQueries(wantDefaults, builtInBreakdowns)
	base := fromDefaults(wantDefaults)
	all, open := base, base
	severity, status := Breakdown{Name: "severity", Field: "severity"}, Breakdown{Name: "status", Field: "status"}
	country := Breakdown{Name: "country", Field: "adversary.geolocation.countryCode.keyword", Top: 20}
	rule := Breakdown{Name: "rule", Field: "name.keyword", Top: 10}
	all.Name, all.Help = "all", "All alerts of the last day, by severity, status, country and rule."
	all.By, all.Ages = []Breakdown{severity, status, country, rule}, []string{"newest"}
	open.Name, open.Help = "open", "Open alerts (status 2) of all time, by severity, country and rule."
	open.Window = 0 // open is open however old
	open.By, open.Ages = []Breakdown{severity, country, rule}, []string{"oldest"}
	open.Filters = []utmstack.Filter{{Field: "status", Operator: "IS", Value: 2}}
	if want := []Query{all, open}; !reflect.DeepEqual(got, want) {
		t.Errorf("built-in set:\n%+v\nwant:\n%+v", got, want)
	}
	for _, q := range got {
		for _, f := range q.Filters {
			if err := f.Validate(); err != nil {
				t.Errorf("%s: %v", q.Name, err)
			}
		}
	}

	// The open filter uses the configured status field; help follows the window.
	d := wantDefaults
	d.Fields.Status = "statusCode"
	d.Window = 0
	got = DefaultQueries(d, builtInBreakdowns)
	if f := got[1].Filters[0]; f.Field != "statusCode" {
		t.Errorf("open filter field %q, want statusCode", f.Field)
	}
	if got[0].Help != "All alerts of all time, by severity, status, country and rule." {
		t.Errorf("help %q", got[0].Help)
	}
}

func TestWindowPhrase(t *testing.T) {
	for w, want := range map[time.Duration]string{
		0:                   "of all time",
		time.Hour:           "of the last hour",
		6 * time.Hour:       "of the last 6 hours",
		24 * time.Hour:      "of the last day",
		7 * 24 * time.Hour:  "of the last 7 days",
		90 * time.Minute:    "of the last 1h30m",
		30 * 24 * time.Hour: "of the last 30 days",
	} {
		if got := windowPhrase(w); got != want {
			t.Errorf("windowPhrase(%v) = %q, want %q", w, got, want)
		}
	}
}
