// Package chain runs the shipped examples as a whole, on one machine: it
// turns examples/prometheus and examples/alertmanager into configurations
// for a local Prometheus and Alertmanager at short intervals, and receives
// Alertmanager's webhook notifications. make demo and the end-to-end test
// both use it, so both run the files a user would.
package chain

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// PrometheusOptions point examples/prometheus/prometheus.yml at a local
// chain.
type PrometheusOptions struct {
	// Interval replaces the scrape and evaluation intervals (and the scrape
	// timeout, which may not exceed the interval).
	Interval time.Duration
	// Exporter is the host:port of the exporter, the utmstack job's target.
	Exporter string
	// RuleFiles replace rule_files (absolute paths: Prometheus reads them
	// relative to its configuration file).
	RuleFiles []string
	// Alertmanager is the host:port alerts are sent to; empty leaves out the
	// alerting section.
	Alertmanager string
}

// PrometheusConfig returns the example scrape configuration with opts
// applied; everything else is kept as shipped.
func PrometheusConfig(example []byte, opts PrometheusOptions) ([]byte, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal(example, &cfg); err != nil {
		return nil, fmt.Errorf("the example Prometheus configuration: %w", err)
	}
	interval := model.Duration(opts.Interval).String()
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
	}
	global["scrape_interval"], global["evaluation_interval"], global["scrape_timeout"] = interval, interval, interval
	cfg["global"] = global
	cfg["rule_files"] = opts.RuleFiles
	if opts.Alertmanager == "" {
		delete(cfg, "alerting")
	} else {
		cfg["alerting"] = map[string]any{"alertmanagers": []any{
			map[string]any{"static_configs": []any{map[string]any{"targets": []string{opts.Alertmanager}}}},
		}}
	}
	jobs, _ := cfg["scrape_configs"].([]any)
	found := false
	for _, j := range jobs {
		job, ok := j.(map[string]any)
		if !ok || job["job_name"] != "utmstack" {
			continue
		}
		found = true
		job["scrape_interval"], job["scrape_timeout"] = interval, interval
		job["static_configs"] = []any{map[string]any{"targets": []string{opts.Exporter}}}
	}
	if !found {
		return nil, errors.New("the example Prometheus configuration has no job utmstack")
	}
	return yaml.Marshal(cfg)
}

// AlertmanagerOptions point examples/alertmanager/alertmanager.yml at a
// local receiver.
type AlertmanagerOptions struct {
	// Receiver is the base URL every webhook is sent to instead; each keeps
	// its path, so the receiver can tell pager from soc-queue.
	Receiver string
	// Divisor divides every route's group_wait, group_interval and
	// repeat_interval, for a chain whose rules' for: are divided by the
	// same (ShortenFor): the timings keep their proportions. 0 or 1 keeps
	// them as shipped.
	Divisor int
}

// AlertmanagerConfig returns the example Alertmanager configuration with
// opts applied; routes, grouping and inhibitions are kept as shipped.
func AlertmanagerConfig(example []byte, opts AlertmanagerOptions) ([]byte, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal(example, &cfg); err != nil {
		return nil, fmt.Errorf("the example Alertmanager configuration: %w", err)
	}
	base, err := url.Parse(opts.Receiver)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("receiver %q is not a URL", opts.Receiver)
	}
	route, _ := cfg["route"].(map[string]any)
	if route == nil {
		return nil, errors.New("the example Alertmanager configuration has no route")
	}
	if opts.Divisor > 1 {
		if err := divideTimers(route, opts.Divisor); err != nil {
			return nil, err
		}
	}
	receivers, _ := cfg["receivers"].([]any)
	hooks := 0
	for _, r := range receivers {
		receiver, _ := r.(map[string]any)
		configs, _ := receiver["webhook_configs"].([]any)
		for _, c := range configs {
			hook, _ := c.(map[string]any)
			if hook == nil {
				continue
			}
			shipped, err := url.Parse(fmt.Sprint(hook["url"]))
			if err != nil {
				return nil, fmt.Errorf("receiver %v: webhook url %v: %w", receiver["name"], hook["url"], err)
			}
			hook["url"] = base.JoinPath(shipped.Path).String()
			hooks++
		}
	}
	if hooks == 0 {
		return nil, errors.New("the example Alertmanager configuration has no webhook to point at the receiver")
	}
	return yaml.Marshal(cfg)
}

// routeTimers are a route's durations, each inherited by its child routes
// unless they set their own.
var routeTimers = []string{"group_wait", "group_interval", "repeat_interval"}

// divideTimers divides the timers that route and its child routes set.
func divideTimers(route map[string]any, divisor int) error {
	for _, key := range routeTimers {
		raw, ok := route[key]
		if !ok {
			continue
		}
		d, err := model.ParseDuration(fmt.Sprint(raw))
		if err != nil {
			return fmt.Errorf("route %v: %s: %w", route["matchers"], key, err)
		}
		route[key] = model.Duration(time.Duration(d) / time.Duration(divisor)).String()
	}
	children, _ := route["routes"].([]any)
	for _, c := range children {
		if child, ok := c.(map[string]any); ok {
			if err := divideTimers(child, divisor); err != nil {
				return err
			}
		}
	}
	return nil
}

// RuleFor returns each alerting rule's for: as written in the rule file,
// for telling in a shortened chain what a duration was.
func RuleFor(rules []byte) (map[string]time.Duration, error) {
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				For   string `yaml:"for"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rules, &file); err != nil {
		return nil, fmt.Errorf("the rule file: %w", err)
	}
	out := map[string]time.Duration{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.For == "" {
				continue
			}
			d, err := model.ParseDuration(r.For)
			if err != nil {
				return nil, fmt.Errorf("rule %s: for: %w", r.Alert, err)
			}
			out[r.Alert] = time.Duration(d)
		}
	}
	return out, nil
}

// ShortenFor divides every rule's for: duration by divisor, for a chain
// that has to show in seconds what production shows in minutes. The
// expressions are kept as written.
func ShortenFor(rules []byte, divisor int) ([]byte, error) {
	if divisor < 1 {
		return nil, fmt.Errorf("divisor %d, want 1 or more", divisor)
	}
	var file map[string]any
	if err := yaml.Unmarshal(rules, &file); err != nil {
		return nil, fmt.Errorf("the rule file: %w", err)
	}
	groups, _ := file["groups"].([]any)
	for _, g := range groups {
		group, _ := g.(map[string]any)
		list, _ := group["rules"].([]any)
		for _, r := range list {
			rule, _ := r.(map[string]any)
			raw, ok := rule["for"]
			if !ok {
				continue
			}
			d, err := model.ParseDuration(fmt.Sprint(raw))
			if err != nil {
				return nil, fmt.Errorf("rule %v: for: %w", rule["alert"], err)
			}
			rule["for"] = model.Duration(time.Duration(d) / time.Duration(divisor)).String()
		}
	}
	return yaml.Marshal(file)
}
