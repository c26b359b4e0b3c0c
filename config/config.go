// Package config loads, defaults and validates the exporter's YAML
// configuration file, which CONFIGURATION.md documents. Everything a
// caller gets back is resolved: defaults applied, the authentication method
// chosen and its secret already read.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Config is a loaded and validated configuration file.
type Config struct {
	UTMStack UTMStack
	Defaults Defaults
	Queries  []Query // the file's own, or the built-in set (DefaultQueries)
	// Breakdowns are the built-in ones, with the file's own added or in
	// their place, by name.
	Breakdowns map[string]Breakdown
	Incidents  bool              // count UTMStack's incidents by status
	Targets    map[string]Target // the instances /probe?target=<name> serves
	Coverage   Coverage          // for the top-level UTMStack and every target
	// Notices are facts about a valid file its author may want to know
	// ("<key path>: <message>"), such as an environment variable set and
	// not used. --config.check prints them, every load logs them. Never a
	// secret.
	Notices []string
}

// Target is one UTMStack for /probe, with its own queries or the top-level ones.
type Target struct {
	Name     string
	UTMStack UTMStack
	Queries  []Query
}

// UTMStack says where UTMStack is and how to talk to it.
type UTMStack struct {
	URL            *url.URL // scheme and host[:port] only
	Timeout        time.Duration
	MaxConcurrency int
	MinInterval    time.Duration
	Auth           Auth
	TLSConfig      commoncfg.TLSConfig
	ProxyURL       *url.URL // nil when unset
}

// Auth is the chosen authentication method with its secret already read.
type Auth struct {
	Method   utmstack.AuthMethod
	Username string // only for utmstack.AuthPassword
	Secret   utmstack.Secret
	// Source says where Secret came from, never the value: "password_file
	// /path", "inline password", "env UTMSTACK_PASSWORD".
	Source string
}

// IsInline reports a secret written in the file itself: it works, but is
// discouraged.
func (a Auth) IsInline() bool { return strings.HasPrefix(a.Source, "inline ") }

// Fields names the alert document fields the breakdowns aggregate on.
type Fields struct {
	Severity string
	Status   string
	Country  string
}

// Defaults holds the per-query settings that queries inherit.
type Defaults struct {
	IndexPattern string
	Window       time.Duration // 0 = all time
	// WindowRounding rounds the window's bounds in OpenSearch date math
	// (now-24h/m .. now/m) so repeated scrapes send identical, cacheable
	// queries: 0 (off), 1s, 1m, 1h or 1d.
	WindowRounding        time.Duration
	ExcludeFalsePositives bool
	ExcludeEchoes         bool
	Fields                Fields
	TopCountries          int
}

// Query is one named count, with the defaults already applied.
type Query struct {
	Name                  string
	Help                  string // may be empty for the file's own queries
	IndexPattern          string
	Window                time.Duration
	WindowRounding        time.Duration
	ExcludeFalsePositives bool
	ExcludeEchoes         bool
	Fields                Fields
	TopCountries          int
	// Filters are the file's own, as written; round/plan.go adds the
	// window, false positive and echo filters.
	Filters []utmstack.Filter
	By      []Breakdown // in `by` order; none: only utmstack_alerts
	Ages    []string    // AgeOldest and/or AgeNewest
}

// Breakdown is one breakdown of a query's alerts by the values of a field:
// the family utmstack_alerts_by_<Name>, labelled <Name>.
type Breakdown struct {
	Name  string
	Field string
	// Top values are kept as labels, the rest summed as other:
	// top_countries for country, unused for severity and status.
	Top int
}

// The breakdowns with values of their own: UTMStack's severities and
// statuses, and countries with other and unknown.
const (
	BySeverity = "severity"
	ByStatus   = "status"
	ByCountry  = "country"
)

// The ages a query can ask for.
const (
	AgeOldest = "oldest"
	AgeNewest = "newest"
)

// Load reads the file at path and returns it parsed, secrets read and
// validated. getenv is os.LookupEnv in production; nil: no environment.
func Load(path string, getenv func(string) (string, bool)) (*Config, error) {
	var data []byte
	err := timely(time.Now().Add(loadTimeout), func() (err error) {
		data, err = readFile(path, maxFileBytes)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading configuration file: %w", err)
	}
	return Parse(data, path, getenv)
}

// Parse is Load for a file already read; path only appears in messages.
// File names inside (password_file, ca_file, ...) are relative to the
// working directory.
func Parse(data []byte, path string, getenv func(string) (string, bool)) (*Config, error) {
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	p := &problems{path: path, deadline: time.Now().Add(loadTimeout)}
	raw, err := decode(data, p)
	if err != nil {
		return nil, errors.Join(append(p.errs, fmt.Errorf("%s: %w", path, err))...)
	}
	cfg := resolve(raw, getenv, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	cfg.Notices = p.notices
	return cfg, nil
}

// Summary describes the configuration in one line for --config.check and
// the reload log. It never contains a secret.
func (c *Config) Summary() string {
	u, a := c.UTMStack, c.UTMStack.Auth
	s := "url="
	if u.URL != nil {
		s += cut(displayURL(u.URL))
	}
	s += " auth=" + string(a.Method) + "("
	if a.Method == utmstack.AuthPassword {
		s += "user " + a.Username + ", "
	}
	s += cut(a.Source) + ")"
	if u.ProxyURL != nil {
		s += " proxy=" + cut(displayURL(u.ProxyURL))
	}
	names := make([]string, len(c.Queries))
	for i, q := range c.Queries {
		names[i] = cut(q.Name)
	}
	s += " queries=" + strings.Join(names, ",")
	if len(c.Targets) > 0 {
		s += " targets=" + strings.Join(slices.Sorted(maps.Keys(c.Targets)), ",")
	}
	return s
}
