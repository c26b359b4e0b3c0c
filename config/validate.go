package config

import (
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// problems collects every validation problem so that a user sees them all
// at once, each as "<file>: <key path>: <message>" ("<file>: <message>" for
// the top level, whose key path is empty).
type problems struct {
	path string
	errs []error
	// undecoded are the key paths of values checkShape reported and dropped.
	// Validation sees the default there, so its own problems at or below
	// them would only be follow-ons of the one reported, and are left out.
	undecoded []string
	// notices are facts about a valid file worth telling its author
	// ("<key path>: <message>"); they become Config.Notices.
	notices []string
}

// notice records one; like every message, it never holds a secret.
func (p *problems) notice(key, format string, args ...any) {
	p.notices = append(p.notices, key+": "+fmt.Sprintf(format, args...))
}

func (p *problems) add(key, format string, args ...any) {
	for _, u := range p.undecoded {
		if u == "" || key == u || strings.HasPrefix(key, u+".") || strings.HasPrefix(key, u+"[") {
			return
		}
	}
	prefix := p.path + ": "
	if key != "" {
		prefix += key + ": "
	}
	p.errs = append(p.errs, errors.New(prefix+fmt.Sprintf(format, args...)))
}

func (p *problems) err() error { return errors.Join(p.errs...) }

var queryNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// resolve turns the raw file into a Config, reporting problems to p. Where a
// value is bad it falls back to the default, so that one mistake does not
// cause follow-on messages elsewhere.
func resolve(raw *rawConfig, getenv func(string) (string, bool), p *problems) *Config {
	c := &Config{UTMStack: resolveUTMStack(p, "utmstack", raw.UTMStack, getenv)}
	c.Defaults = resolveDefaults(p, "defaults", defaultDefaults(), raw.Defaults)
	c.Breakdowns = resolveBreakdowns(p, raw.Breakdowns)
	c.Incidents = raw.Incidents == nil || *raw.Incidents

	switch {
	case raw.Queries == nil:
		c.Queries = DefaultQueries(c.Defaults, c.Breakdowns)
	case len(*raw.Queries) == 0:
		p.add("queries", "the list is empty, so there would be nothing to export; list at least one query, or remove the key to use the built-in set (all, open)")
	default:
		c.Queries = resolveQueries(p, "queries", *raw.Queries, c.Defaults, c.Breakdowns)
	}
	c.Targets = resolveTargets(p, raw.Targets, c.Defaults, c.Breakdowns, c.Queries)
	return c
}

// resolveUTMStack resolves the `utmstack` block or one of `targets`; prefix
// is its key path. getenv is nil where secrets do not come from the
// environment.
func resolveUTMStack(p *problems, prefix string, r rawUTMStack, getenv func(string) (string, bool)) UTMStack {
	var u UTMStack
	u.URL = checkURL(p, prefix+".url", r.URL)
	u.Timeout = resolveDuration(p, prefix+".timeout", r.Timeout, defaultTimeout, true, "")
	u.MaxConcurrency = resolveInt(p, prefix+".max_concurrency", r.MaxConcurrency, defaultMaxConcurrency, 1, 64)
	u.MinInterval = resolveDuration(p, prefix+".min_interval", r.MinInterval, defaultMinInterval, false, " (0 means every scrape asks UTMStack)")
	u.Auth = resolveAuth(p, prefix+".auth", r.Auth, getenv)
	u.TLSConfig = commoncfg.TLSConfig(r.TLSConfig)
	// NewTLSConfig runs Validate and also reads ca_file, cert_file and
	// key_file, so a missing or malformed file is reported now, not at the
	// first scrape.
	if _, err := commoncfg.NewTLSConfig(&u.TLSConfig); err != nil {
		p.add(prefix+".tls_config", "%s", err)
	}
	u.ProxyURL = checkProxyURL(p, prefix+".proxy_url", r.ProxyURL)
	return u
}

var targetNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// resolveTargets resolves the instances /probe serves. Their secrets come
// from their own *_file or inline keys only: one environment variable
// cannot be the password of several instances.
func resolveTargets(p *problems, raws map[string]rawTarget, d Defaults, breakdowns map[string]Breakdown, inherited []Query) map[string]Target {
	if len(raws) == 0 {
		return nil
	}
	targets := make(map[string]Target, len(raws))
	for _, name := range slices.Sorted(maps.Keys(raws)) {
		r := raws[name]
		prefix := "targets." + name
		if !targetNameRE.MatchString(name) {
			p.add(prefix, "%q is not a valid target name; use letters, digits, _, . and - (at most 64, starting with a letter or digit)", name)
			continue
		}
		// A nil getenv: no environment for targets.
		t := Target{Name: name, UTMStack: resolveUTMStack(p, prefix, r.rawUTMStack, nil), Queries: inherited}
		if r.Queries != nil {
			if len(*r.Queries) == 0 {
				p.add(prefix+".queries", "the list is empty; list at least one query, or remove the key to use the top-level queries")
			} else {
				t.Queries = resolveQueries(p, prefix+".queries", *r.Queries, d, breakdowns)
			}
		}
		targets[name] = t
	}
	return targets
}

// resolveDefaults applies the overrides in r to base. It serves both the
// `defaults` section (prefix "defaults") and each query ("queries[i]").
func resolveDefaults(p *problems, prefix string, base Defaults, r rawDefaults) Defaults {
	d := base
	if r.IndexPattern != nil {
		if strings.TrimSpace(*r.IndexPattern) == "" {
			p.add(prefix+".index_pattern", "must not be empty; UTMStack v11 uses %s, v10 alert-*", defaultIndexPattern)
		} else {
			d.IndexPattern = *r.IndexPattern
		}
	}
	d.Window = resolveDuration(p, prefix+".window", r.Window, base.Window, false, " (0 means all time)")
	d.WindowRounding = resolveRounding(p, prefix+".window_rounding", r.WindowRounding, base.WindowRounding)
	if r.ExcludeFalsePositives != nil {
		d.ExcludeFalsePositives = *r.ExcludeFalsePositives
	}
	if r.ExcludeEchoes != nil {
		d.ExcludeEchoes = *r.ExcludeEchoes
	}
	resolveField(p, prefix+".fields.severity", r.Fields.Severity, &d.Fields.Severity)
	resolveField(p, prefix+".fields.status", r.Fields.Status, &d.Fields.Status)
	resolveField(p, prefix+".fields.country", r.Fields.Country, &d.Fields.Country)
	d.TopCountries = resolveInt(p, prefix+".top_countries", r.TopCountries, base.TopCountries, 1, 300)
	return d
}

func resolveField(p *problems, key string, v *string, into *string) {
	if v == nil {
		return
	}
	if strings.TrimSpace(*v) == "" {
		p.add(key, "must not be empty; give the alert document field to aggregate on")
		return
	}
	*into = *v
}

func resolveQueries(p *problems, key string, raws []rawQuery, d Defaults, breakdowns map[string]Breakdown) []Query {
	queries := make([]Query, 0, len(raws))
	seen := map[string]int{}
	for i, rq := range raws {
		prefix := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case rq.Name == "":
			p.add(prefix+".name", "required; it becomes the label query=\"<name>\" (lowercase letters, digits and _, e.g. open_high)")
		case !queryNameRE.MatchString(rq.Name):
			p.add(prefix+".name", "%q must match %s", rq.Name, queryNameRE)
		default:
			if j, dup := seen[rq.Name]; dup {
				p.add(prefix+".name", "%q is already used by %s[%d]; names must be unique", rq.Name, key, j)
			} else {
				seen[rq.Name] = i
			}
		}

		q := fromDefaults(resolveDefaults(p, prefix, d, rq.rawDefaults))
		q.Name, q.Help = rq.Name, rq.Help

		for j, rf := range rq.Filters {
			key := fmt.Sprintf("%s.filters[%d]", prefix, j)
			f, err := rf.filter()
			if err != nil {
				p.add(key+".value", "%s", err)
				continue
			}
			if err := f.Validate(); err != nil {
				var fe *utmstack.FilterError
				if errors.As(err, &fe) {
					p.add(key+"."+fe.Key, "%s", fe.Msg)
				} else {
					p.add(key, "%s", err)
				}
			}
			q.Filters = append(q.Filters, f)
		}

		q.By = resolveBy(p, prefix+".by", rq.By, q, breakdowns)
		q.Ages = resolveAges(p, prefix+".ages", rq.Ages)
		queries = append(queries, q)
	}
	return queries
}

// resolveDuration parses a duration in Prometheus' notation (7d, 1h30m).
// Negative values are parsed so that they can be reported as such.
func resolveDuration(p *problems, key string, d *rawDuration, def time.Duration, positive bool, zeroMeans string) time.Duration {
	if d == nil {
		return def
	}
	md, err := model.ParseDurationAllowNegative(d.text)
	if err != nil {
		p.add(key, "%q is not a valid duration; %s", d.text, durationHint)
		return def
	}
	v := time.Duration(md)
	switch {
	case positive && v <= 0:
		p.add(key, "%q must be greater than 0", d.text)
		return def
	case v < 0:
		p.add(key, "%q must not be negative%s", d.text, zeroMeans)
		return def
	}
	return v
}

// roundingUnits are the steps OpenSearch date math can round to (/s, /m,
// /h, /d); it has no multiples such as 5m.
var roundingUnits = []time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour}

func resolveRounding(p *problems, key string, d *rawDuration, def time.Duration) time.Duration {
	v := resolveDuration(p, key, d, def, false, " (0 turns rounding off)")
	if v != 0 && !slices.Contains(roundingUnits, v) {
		p.add(key, "%q is not a date math rounding step; accepted: 0, 1s, 1m, 1h, 1d", d.text)
		return def
	}
	return v
}

func resolveInt(p *problems, key string, v *rawInt, def, lo, hi int) int {
	switch {
	case v == nil:
		return def
	case !v.ok:
		if _, whole := new(big.Int).SetString(v.text, 0); whole {
			p.add(key, "%q is out of range; accepted: %d to %d (line %d)", v.text, lo, hi, v.line)
		} else {
			p.add(key, "%q is not a whole number (line %d)", v.text, v.line)
		}
		return def
	case v.n < lo || v.n > hi:
		p.add(key, "%d is out of range; accepted: %d to %d", v.n, lo, hi)
		return def
	}
	return v.n
}

// checkURL validates utmstack.url and returns only its scheme and host.
func checkURL(p *problems, key, raw string) *url.URL {
	if raw == "" {
		p.add(key, "required, e.g. https://utmstack.example.com")
		return nil
	}
	u, ok := parseAbsolute(p, key, raw, "https://utmstack.example.com")
	if !ok {
		return nil
	}
	shown := strconv.Quote(shownURL(u, raw))
	if u.Scheme != "http" && u.Scheme != "https" {
		p.add(key, "%s must use http or https", shown)
		ok = false
	}
	if u.User != nil {
		p.add(key, "%s must not contain user info: credentials in a URL would leak into logs; use utmstack.auth", shown)
		ok = false
	}
	if u.Path != "" && u.Path != "/" {
		p.add(key, "%s must not have a path (%q); give only scheme://host[:port], the exporter adds /api itself", shown, u.Path)
		ok = false
	}
	if u.RawQuery != "" || u.ForceQuery {
		p.add(key, "%s must not have a query (values not shown: a query may carry a token)", shown)
		ok = false
	}
	if u.Fragment != "" {
		p.add(key, "%s must not have a fragment (not shown: it may carry a token)", shown)
		ok = false
	}
	if !ok {
		return nil
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}
}

// checkProxyURL validates utmstack.proxy_url; "" means no proxy. User info
// is allowed here (proxy authentication) and is redacted in every message.
func checkProxyURL(p *problems, key, raw string) *url.URL {
	if raw == "" {
		return nil
	}
	u, ok := parseAbsolute(p, key, raw, "http://proxy.example.com:3128")
	if !ok {
		return nil
	}
	switch u.Scheme {
	case "http", "https", "socks5":
		return u
	}
	p.add(key, "%q must use http, https or socks5", shownURL(u, raw))
	return nil
}

// parseAbsolute parses raw and checks it has a scheme, a host and a valid
// port. It never prints credentials that raw may contain.
func parseAbsolute(p *problems, key, raw, example string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole input; show only the cause, and not
		// even that when the input may hold credentials.
		if strings.Contains(raw, "@") {
			p.add(key, "not a valid URL (the value is not shown because it may contain credentials)")
			return nil, false
		}
		// Nor the value itself: its query or fragment may hold a token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		p.add(key, "not a valid URL: %s (the value is not shown: it may hold a token)", err)
		return nil, false
	}
	shown := shownURL(u, raw)
	// "host:8443" parses as scheme "host" with opaque "8443".
	if u.Scheme == "" || u.Opaque != "" {
		p.add(key, "%q is not an absolute URL; write it like %s", shown, example)
		return nil, false
	}
	if u.Hostname() == "" {
		p.add(key, "%q has no host", shown)
		return nil, false
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			p.add(key, "%q has port %s; accepted: 1 to 65535", shown, port)
			return nil, false
		}
	}
	return u, true
}

// shownURL is the value for a message: as written, unless it holds
// credentials.
func shownURL(u *url.URL, raw string) string {
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return displayURL(u)
	}
	return raw
}

// displayURL is u with any user info, query values and fragment replaced,
// safe for messages and logs: each can carry a credential.
func displayURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("xxxxx")
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			q[k] = []string{"xxxxx"}
		}
		c.RawQuery = q.Encode()
	}
	if c.Fragment != "" {
		c.Fragment, c.RawFragment = "xxxxx", ""
	}
	return c.String()
}
