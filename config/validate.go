package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// problems collects every problem, so that a user sees them all at once,
// each as "<file>: <key path>: <message>".
type problems struct {
	path string
	errs []error
	// undecoded are the key paths of values yaml reported and left out:
	// problems at or below them would only be follow-ons.
	undecoded []string
	notices   []string  // Config.Notices
	deadline  time.Time // for reading the files the configuration names
}

// notice records a fact about a valid file; never a secret.
func (p *problems) notice(key, format string, args ...any) {
	p.notices = append(p.notices, key+": "+fmt.Sprintf(format, cutAll(args)...))
}

func (p *problems) add(key, format string, args ...any) {
	for _, u := range p.undecoded {
		if u == "" || key == u || strings.HasPrefix(key, u+".") || strings.HasPrefix(key, u+"[") {
			return
		}
	}
	p.errs = append(p.errs, fmt.Errorf("%s: %s", strings.TrimSuffix(p.path+": "+key, ": "), fmt.Sprintf(format, cutAll(args)...)))
}

func (p *problems) err() error { return errors.Join(p.errs...) }

var queryNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// resolve turns the raw file into a Config, reporting problems to p. A bad
// value falls back to the default, so that it causes no follow-ons.
func resolve(raw *rawConfig, getenv func(string) (string, bool), p *problems) *Config {
	if !withinLimits(p, raw) {
		return nil
	}
	c := &Config{UTMStack: resolveUTMStack(p, "utmstack", raw.UTMStack, getenv)}
	c.Defaults = resolveDefaults(p, "defaults", defaultDefaults(), raw.Defaults)
	c.Breakdowns = resolveBreakdowns(p, raw.Breakdowns)
	c.Incidents = raw.Incidents == nil || *raw.Incidents
	c.Coverage = resolveCoverage(p, raw.Coverage)

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
	return UTMStack{
		URL:            checkURL(p, prefix+".url", r.URL),
		Timeout:        resolveDuration(p, prefix+".timeout", &r.Timeout, defaultTimeout, true, ""),
		MaxConcurrency: resolveInt(p, prefix+".max_concurrency", &r.MaxConcurrency, defaultMaxConcurrency, 1, 64),
		MinInterval:    resolveDuration(p, prefix+".min_interval", &r.MinInterval, defaultMinInterval, false, " (0 means every scrape asks UTMStack)"),
		Auth:           resolveAuth(p, prefix+".auth", r.Auth, getenv),
		TLSConfig:      resolveTLS(p, prefix+".tls_config", r.TLSConfig),
		ProxyURL:       checkProxyURL(p, prefix+".proxy_url", r.ProxyURL),
	}
}

// resolveTLS reads ca_file, cert_file and key_file (commoncfg.NewTLSConfig
// does) so that a missing or malformed one is reported now, not at the
// first scrape.
func resolveTLS(p *problems, key string, r plainTLS) commoncfg.TLSConfig {
	c := commoncfg.TLSConfig(r)
	for _, f := range []string{c.CAFile, c.CertFile, c.KeyFile} {
		if err := checkFile(f, maxTLSFileBytes); f != "" && err != nil {
			p.add(key, "%s", err)
			return c
		}
	}
	if err := timely(p.deadline, func() error { _, err := commoncfg.NewTLSConfig((*commoncfg.TLSConfig)(&r)); return err }); err != nil {
		p.add(key, "%s", err)
	}
	return c
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
		r, prefix := raws[name], joinKey("targets", name)
		if !targetNameRE.MatchString(name) {
			p.add(prefix, "%q is not a valid target name; use letters, digits, _, . and - (at most 64, starting with a letter or digit)", name)
			continue
		}
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
	d.Window = resolveDuration(p, prefix+".window", &r.Window, base.Window, false, " (0 means all time)")
	d.WindowRounding = resolveDuration(p, prefix+".window_rounding", &r.WindowRounding, base.WindowRounding, false, " (0 turns rounding off)")
	if d.WindowRounding != 0 && RoundingUnit(d.WindowRounding) == "" {
		p.add(prefix+".window_rounding", "%q is not a date math rounding step; accepted: 0, 1s, 1m, 1h, 1d", deref(&r.WindowRounding).Value)
		d.WindowRounding = base.WindowRounding
	}
	d.ExcludeFalsePositives = *cmp.Or(r.ExcludeFalsePositives, &base.ExcludeFalsePositives)
	d.ExcludeEchoes = *cmp.Or(r.ExcludeEchoes, &base.ExcludeEchoes)
	resolveField(p, prefix+".fields.severity", r.Fields.Severity, &d.Fields.Severity)
	resolveField(p, prefix+".fields.status", r.Fields.Status, &d.Fields.Status)
	resolveField(p, prefix+".fields.country", r.Fields.Country, &d.Fields.Country)
	d.TopCountries = resolveInt(p, prefix+".top_countries", &r.TopCountries, base.TopCountries, 1, 300)
	return d
}

func resolveField(p *problems, key string, v *string, into *string) {
	switch {
	case v == nil:
	case strings.TrimSpace(*v) == "":
		p.add(key, "must not be empty; give the alert document field to aggregate on")
	default:
		*into = *v
	}
}

// RoundingUnit is OpenSearch's date math unit for a window rounding step,
// "" for any other step: date math rounds to one unit, never to 5m.
func RoundingUnit(step time.Duration) string {
	return map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h", 24 * time.Hour: "d"}[step]
}

func resolveQueries(p *problems, key string, raws []rawQuery, d Defaults, breakdowns map[string]Breakdown) []Query {
	queries := make([]Query, 0, len(raws))
	seen := map[string]int{}
	for i, rq := range raws {
		prefix := fmt.Sprintf("%s[%d]", key, i)
		switch j, dup := seen[rq.Name]; {
		case rq.Name == "":
			p.add(prefix+".name", "required; it becomes the label query=\"<name>\" (lowercase letters, digits and _, e.g. open_high)")
		case !queryNameRE.MatchString(rq.Name):
			p.add(prefix+".name", "%q must match %s", rq.Name, queryNameRE)
		case dup:
			p.add(prefix+".name", "%q is already used by %s[%d]; names must be unique", rq.Name, key, j)
		default:
			seen[rq.Name] = i
		}

		q := fromDefaults(resolveDefaults(p, prefix, d, rq.rawDefaults))
		q.Name, q.Help = rq.Name, rq.Help
		for j, rf := range rq.Filters {
			key := fmt.Sprintf("%s.filters[%d]", prefix, j)
			f, err := rf.filter()
			var fe *utmstack.FilterError
			switch {
			case err != nil:
				p.add(key+".value", "%s", err)
				continue
			case errors.As(f.Validate(), &fe):
				p.add(key+"."+fe.Key, "%s", fe.Msg)
			}
			q.Filters = append(q.Filters, f)
		}
		q.By = resolveBy(p, prefix+".by", rq.By, q, breakdowns)
		q.Ages = resolveAges(p, prefix+".ages", rq.Ages)
		queries = append(queries, q)
	}
	return queries
}

// durationHint ends every message about a bad duration.
const durationHint = "use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s or 7d"

// resolveDuration parses a duration in Prometheus' notation (7d, 1h30m).
// Negative values are parsed so that they can be reported as such.
func resolveDuration(p *problems, key string, n *yaml.Node, def time.Duration, positive bool, zeroMeans string) time.Duration {
	if n = deref(n); isNull(n) {
		return def
	}
	if n.Kind != yaml.ScalarNode {
		p.add(key, "%s is not a valid duration; %s (line %d)", describe(key, n), durationHint, n.Line)
		return def
	}
	md, err := model.ParseDurationAllowNegative(n.Value)
	switch v := time.Duration(md); {
	case err != nil:
		p.add(key, "%q is not a valid duration; %s", n.Value, durationHint)
	case positive && v <= 0:
		p.add(key, "%q must be greater than 0", n.Value)
	case v < 0:
		p.add(key, "%q must not be negative%s", n.Value, zeroMeans)
	default:
		return v
	}
	return def
}

// resolveInt reads a whole number in [lo, hi]. yaml itself would truncate
// 2.5 to 2, and report a number too large for an int without its range.
func resolveInt(p *problems, key string, n *yaml.Node, def, lo, hi int) int {
	if n = deref(n); isNull(n) {
		return def
	}
	var v int
	switch {
	case n.Kind != yaml.ScalarNode:
		p.add(key, "%s is not a whole number (line %d)", describe(key, n), n.Line)
	case n.ShortTag() != "!!int" || n.Decode(&v) != nil:
		if _, whole := new(big.Int).SetString(n.Value, 0); whole {
			p.add(key, "%q is out of range; accepted: %d to %d (line %d)", n.Value, lo, hi, n.Line)
		} else {
			p.add(key, "%q is not a whole number (line %d)", n.Value, n.Line)
		}
	case v < lo || v > hi:
		p.add(key, "%d is out of range; accepted: %d to %d", v, lo, hi)
	default:
		return v
	}
	return def
}

func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}
