package main

import (
	"fmt"
	"html"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/utmstack/utmstack_exporter/config"
)

// appHelp is the text of --help above the flags: what --help cannot say
// flag by flag (the endpoints, where secrets come from) and what the counts
// of the built-in queries leave out, so that a user comparing them with
// UTMStack's own total knows why they differ. Paragraphs are wrapped by
// kingpin.
const appHelp = `Prometheus exporter for UTMStack security alerts.

Endpoints: /metrics for the UTMStack of the configuration file's utmstack key; /probe?target=<name> for each UTMStack under its targets key, one Prometheus target each; /-/healthy; /-/ready; /-/reload (POST; SIGHUP also reloads).

Secrets are never flags: each comes from the configuration file (password_file, api_key_file, internal_key_file) or from the environment variable UTMSTACK_PASSWORD, UTMSTACK_API_KEY or UTMSTACK_INTERNAL_KEY.

What the counts are: without a queries key the exporter runs a built-in set. query="all" counts the alerts of the window (defaults.window, 24h unless set), leaving out those tagged "False positive" (defaults.exclude_false_positives) and the echoes, repeats of an earlier alert that carry its parentId (defaults.exclude_echoes): it is smaller than UTMStack's total of all time, which utmstack_index_alerts counts, unfiltered. query="open" counts the open alerts (status 2) of all time, with the same exclusions.`

// landingConfig describes the exporter on its landing page: where it
// scrapes, which queries it runs and what they count, the /probe targets,
// and where secrets come from. Never a credential, nor a secret file's path.
func landingConfig(metricsPath string, cfg *config.Config) web.LandingConfig {
	var extra strings.Builder
	if cfg != nil {
		fmt.Fprintf(&extra, "<h2>UTMStack</h2><p>%s (auth: %s, %s)</p><h2>Queries</h2><ul>",
			html.EscapeString(cfg.UTMStack.URL.String()), html.EscapeString(string(cfg.UTMStack.Auth.Method)),
			html.EscapeString(secretOrigin(cfg.UTMStack.Auth.Source)))
		for _, q := range cfg.Queries {
			help := q.Help
			if help != "" {
				help += " "
			}
			fmt.Fprintf(&extra, `<li><code>query="%s"</code>: %sCounts %s.</li>`, html.EscapeString(q.Name), html.EscapeString(help),
				html.EscapeString(countedAlerts(q)))
		}
		extra.WriteString("</ul><p>UTMStack's own total is larger: <code>utmstack_index_alerts</code> counts every alert " +
			"of an index pattern, all time and unfiltered.</p>")
	}
	extra.WriteString("<h2>Probe</h2><p><code>/probe?target=&lt;name&gt;</code> serves the same metrics for a UTMStack " +
		"configured under <code>targets</code>, one Prometheus target each.</p>")
	if cfg != nil {
		if len(cfg.Targets) == 0 {
			extra.WriteString("<p>No target is configured.</p>")
		} else {
			extra.WriteString("<ul>")
			for _, name := range slices.Sorted(maps.Keys(cfg.Targets)) {
				fmt.Fprintf(&extra, `<li><a href="/probe?target=%s">%s</a>: %s</li>`, url.QueryEscape(name),
					html.EscapeString(name), html.EscapeString(cfg.Targets[name].UTMStack.URL.String()))
			}
			extra.WriteString("</ul>")
		}
	}
	extra.WriteString("<h2>Secrets</h2><p>From the configuration file (<code>password_file</code>, <code>api_key_file</code>, " +
		"<code>internal_key_file</code>) or the environment variables <code>UTMSTACK_PASSWORD</code>, " +
		"<code>UTMSTACK_API_KEY</code>, <code>UTMSTACK_INTERNAL_KEY</code>; never from flags.</p>")
	return web.LandingConfig{
		Profiling:   "false", // no /debug/pprof handlers: no links to them
		Name:        "UTMStack Exporter",
		Description: "Prometheus exporter for UTMStack security alerts",
		Version:     version.Info(),
		ExtraHTML:   extra.String(),
		Links: []web.LandingLinks{
			{Address: metricsPath, Text: "Metrics"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness"},
		},
	}
}

// countedAlerts says which alerts a query counts: its window and what it
// leaves out.
func countedAlerts(q config.Query) string {
	out := "the alerts of all time"
	if q.Window > 0 {
		out = "the alerts of the last " + model.Duration(q.Window).String()
	}
	var left []string
	if q.ExcludeFalsePositives {
		left = append(left, `those tagged "False positive"`)
	}
	if q.ExcludeEchoes {
		left = append(left, "echoes (repeats of an earlier alert, with its parentId)")
	}
	if len(q.Filters) > 0 {
		out += " that pass its filters"
	}
	if len(left) > 0 {
		out += ", without " + strings.Join(left, " and ")
	}
	return out
}

// secretOrigin says where the secret came from without the path of its
// file: the configuration's Source is "env UTMSTACK_PASSWORD",
// "inline password" or "password_file /path".
func secretOrigin(source string) string {
	kind, _, _ := strings.Cut(source, " ")
	switch {
	case kind == "env":
		return "from the environment variable " + strings.TrimPrefix(source, "env ")
	case kind == "inline":
		return "written in the configuration file"
	case strings.HasSuffix(kind, "_file"):
		return "from its " + kind
	}
	return "from the configuration"
}
