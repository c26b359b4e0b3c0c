// Package config loads, defaults and validates the exporter's YAML
// configuration file, which CONFIGURATION.md documents. Everything a
// caller gets back is resolved: defaults applied, the authentication method
// chosen and its secret already read.
package config

import (
	"fmt"
	"maps"
	"net/url"
	"os"
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
	// Queries is the file's own list, or the built-in set (DefaultQueries)
	// when the file has no `queries` key.
	Queries []Query
	// Breakdowns are the built-in breakdowns by a field, with the file's
	// own definitions added or in their place, by name.
	Breakdowns map[string]Breakdown
	// Incidents says whether UTMStack's incidents are counted by status.
	Incidents bool
	// Coverage says what is read of UTMStack's log sources and agents.
	Coverage Coverage
	// Targets are the further instances /probe?target=<name> serves.
	Targets map[string]Target
	// Notices are things about a valid file its author may want to know,
	// such as an environment variable that is set but not used, each as
	// "<key path>: <message>". --config.check prints them and every load
	// logs them. They never hold a secret.
	Notices []string
}

// Target is one named UTMStack instance for /probe, with its own client
// settings and its own queries or, when it names none, the top-level ones.
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
	// Source says where Secret came from, for messages and logs; never the
	// value: "password_file /path", "inline password", "env UTMSTACK_PASSWORD".
	Source string
}

// IsInline reports whether the secret was written in the configuration file
// itself, which works but is discouraged; callers may want to warn.
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
	// Filters are the user's own filters, as written. The window, false
	// positive and echo filters are not in here: round/plan.go adds them.
	Filters []utmstack.Filter
	// By are the query's breakdowns, in `by` order; empty means only the
	// total utmstack_alerts.
	By []Breakdown
	// Ages are AgeOldest and/or AgeNewest: the time of the query's oldest or
	// newest alert.
	Ages []string
}

// Breakdown is one breakdown of a query's alerts by the values of a field:
// the family utmstack_alerts_by_<Name>, labelled <Name>.
type Breakdown struct {
	Name  string
	Field string
	// Top is how many values are kept as labels (the rest are summed as
	// other): top_countries for country, unused for severity and status.
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
// validated. getenv is os.LookupEnv in production; nil means no environment.
func Load(path string, getenv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration file: %w", err)
	}
	return Parse(data, path, getenv)
}

// Parse is Load for a file already read. path only appears in messages:
// relative file names inside the configuration (password_file, ca_file, ...)
// are relative to the working directory, not to path.
func Parse(data []byte, path string, getenv func(string) (string, bool)) (*Config, error) {
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	p := &problems{path: path}
	raw, err := decode(data, p)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %w", path, err))
		return nil, p.err()
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
	var b strings.Builder
	b.WriteString("url=")
	if c.UTMStack.URL != nil {
		b.WriteString(displayURL(c.UTMStack.URL))
	}
	a := c.UTMStack.Auth
	fmt.Fprintf(&b, " auth=%s(", a.Method)
	if a.Method == utmstack.AuthPassword {
		fmt.Fprintf(&b, "user %s, ", a.Username)
	}
	b.WriteString(a.Source + ")")
	if c.UTMStack.ProxyURL != nil {
		b.WriteString(" proxy=" + displayURL(c.UTMStack.ProxyURL))
	}
	names := make([]string, len(c.Queries))
	for i, q := range c.Queries {
		names[i] = q.Name
	}
	b.WriteString(" queries=" + strings.Join(names, ","))
	if len(c.Targets) > 0 {
		b.WriteString(" targets=" + strings.Join(slices.Sorted(maps.Keys(c.Targets)), ","))
	}
	return b.String()
}
