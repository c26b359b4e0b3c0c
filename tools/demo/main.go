// Command demo runs the whole chain on one machine, on loopback: a fake
// UTMStack whose alerts live (they arrive, bursts included, and analysts
// triage them) and where a log source falls silent and an agent goes
// offline for a while, the exporter, Prometheus with the shipped scrape
// configuration and alert rules, Alertmanager with the shipped
// configuration, and a receiver that prints every notification. Prometheus
// and Alertmanager are the Debian packages' binaries; without them the demo
// runs the rest and says what it left out. Ctrl-C stops everything and
// exits 0. `make demo` builds and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/model"

	"github.com/utmstack/utmstack_exporter/internal/chain"
	"github.com/utmstack/utmstack_exporter/tools/demo/living"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	user     = "prometheus"
	password = "demo-password"
)

// scale is how much faster the demo runs than production: Prometheus
// scrapes and evaluates every interval instead of every minute, and the
// rules' for:, Alertmanager's timers and the exporter's coverage.interval
// are divided by the same; a silent source's silence is multiplied by it.
func (f flags) scale() int { return max(1, int(time.Minute/f.interval)) }

type flags struct {
	dir, examples, exporterBin                         string
	exporter, fake, prometheus, alertmanager, receiver string
	interval                                           time.Duration
	alerts                                             int
	seed                                               int64
	every, highEvery, burstEvery, incidentEvery        time.Duration
	outageAt, outageFor                                time.Duration
	silenceAt, silenceFor, offlineAt, offlineFor       time.Duration
}

func main() {
	var f flags
	flag.StringVar(&f.dir, "dir", ".demo", "Directory for the generated configurations, data and logs.")
	flag.StringVar(&f.examples, "examples", "examples", "The repository's examples directory.")
	flag.StringVar(&f.exporterBin, "exporter-bin", "./utmstack_exporter", "The exporter binary.")
	flag.StringVar(&f.exporter, "exporter", "127.0.0.1:9850", "Listen address of the exporter (port 0: any free port).")
	flag.StringVar(&f.fake, "fake", "127.0.0.1:9851", "Listen address of the fake UTMStack (port 0: any free port).")
	flag.StringVar(&f.prometheus, "prometheus", "127.0.0.1:9852", "Listen address of Prometheus (port 0: any free port).")
	flag.StringVar(&f.alertmanager, "alertmanager", "127.0.0.1:9853", "Listen address of Alertmanager (port 0: any free port).")
	flag.StringVar(&f.receiver, "receiver", "127.0.0.1:9854", "Listen address of the notification receiver (port 0: any free port).")
	flag.DurationVar(&f.interval, "interval", 5*time.Second, "Scrape and rule evaluation interval: a minute in production, so the demo runs a minute/interval times faster.")
	flag.DurationVar(&f.outageAt, "outage-at", time.Minute, "When the fake UTMStack stops answering, counted from when the whole chain is up: a page that fires and resolves.")
	flag.DurationVar(&f.outageFor, "outage-for", time.Minute, "How long the fake UTMStack stops answering; 0: never.")
	flag.DurationVar(&f.silenceAt, "silence-at", 2*time.Minute, "When a log source stops sending logs, counted from when the whole chain is up: UTMStackDataSourceSilent fires and resolves.")
	flag.DurationVar(&f.silenceFor, "silence-for", 4*time.Minute, "How long the log source stays silent; 0: never.")
	flag.DurationVar(&f.offlineAt, "offline-at", 3*time.Minute, "When an agent stops pinging UTMStack, counted from when the whole chain is up: UTMStackAgentsOffline fires and resolves.")
	flag.DurationVar(&f.offlineFor, "offline-for", 3*time.Minute, "How long the agent stays offline; 0: never.")
	flag.IntVar(&f.alerts, "alerts", 2000, "Alerts in the fake UTMStack at the start, over the last 5 days.")
	flag.Int64Var(&f.seed, "seed", 1, "Seed of the generated alerts.")
	flag.DurationVar(&f.every, "every", 20*time.Second, "Mean time between two new alerts, bursts aside.")
	flag.DurationVar(&f.highEvery, "high-every", 4*time.Minute, "Mean time between two high-severity alerts.")
	flag.DurationVar(&f.burstEvery, "burst-every", 10*time.Minute, "Mean time between two bursts of alerts.")
	flag.DurationVar(&f.incidentEvery, "incident-every", 5*time.Minute, "Mean time between two new incidents.")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, f)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run starts the chain, waits for Ctrl-C (or a part that dies) and stops
// everything it started. Ctrl-C is the normal end: nil.
func run(ctx context.Context, f flags) error {
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return err
	}
	// Each run starts from nothing: an earlier run's series would mix with
	// this one's in last_over_time and the dashboards.
	for _, data := range []string{"prometheus-data", "alertmanager-data"} {
		if err := os.RemoveAll(filepath.Join(f.dir, data)); err != nil {
			return err
		}
	}
	var children []*child
	defer func() {
		for i := len(children) - 1; i >= 0; i-- {
			children[i].stop()
		}
	}()
	died := make(chan *child, 4)
	watch := func(c *child) *child {
		children = append(children, c)
		go func() { <-c.done; died <- c }()
		return c
	}

	// The fake UTMStack, its alerts and incidents stepped forward at every
	// interval.
	fake := utmstacktest.New(utmstacktest.Options{Users: map[string]string{user: password}})
	soc := living.New(fake, time.Now(), living.Options{
		History: f.alerts, Seed: f.seed, Every: f.every, HighEvery: f.highEvery, BurstEvery: f.burstEvery,
		IncidentEvery: f.incidentEvery, Scale: f.scale(),
	})
	fakeURL, err := serve(ctx, "the fake UTMStack", "fake", f.fake, fake)
	if err != nil {
		return err
	}
	for _, a := range []struct {
		what, flag string
		addr       *string
	}{{"the exporter", "exporter", &f.exporter}, {"Prometheus", "prometheus", &f.prometheus}, {"Alertmanager", "alertmanager", &f.alertmanager}} {
		if *a.addr, err = claimAddress(a.what, a.flag, *a.addr); err != nil {
			return err
		}
	}
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	go soc.Run(ctx, tick.C)

	// The exporter, its password from the environment.
	config := filepath.Join(f.dir, "utmstack.yml")
	if err := os.WriteFile(config, fmt.Appendf(nil,
		"# Written by make demo: the exporter pointed at the fake UTMStack, the built-in queries,\n"+
			"# coverage read as often as the demo's speed makes a minute.\n"+
			"utmstack:\n  url: %s\n  auth:\n    username: %s\ncoverage:\n  interval: %s\n",
		fakeURL, user, model.Duration(time.Minute/time.Duration(f.scale()))), 0o600); err != nil {
		return err
	}
	exporter, err := startChild(f.dir, "exporter", f.exporterBin,
		[]string{"--config.file=" + config, "--web.listen-address=" + f.exporter}, []string{"UTMSTACK_PASSWORD=" + password})
	if err != nil {
		return err
	}
	if err := watch(exporter).waitReady(ctx, "http://"+f.exporter+"/-/ready"); err != nil {
		return err
	}

	var missing []string
	promBin, amBin := lookPath("prometheus"), lookPath("prometheus-alertmanager", "alertmanager")
	switch {
	case amBin != "" && promBin != "":
		if err := startAlertmanager(ctx, f, amBin, watch); err != nil {
			return err
		}
	case amBin == "":
		missing = append(missing, "Alertmanager: not installed (the Debian package prometheus-alertmanager)")
	default:
		missing = append(missing, "Alertmanager, installed but with nothing to send it alerts")
	}
	if promBin != "" {
		if err := startPrometheus(ctx, f, promBin, amBin != "", watch); err != nil {
			return err
		}
	} else {
		missing = append(missing, "Prometheus: not installed (the Debian package prometheus)")
	}

	var ui webUI
	if promBin != "" {
		ui.prometheus, ui.prometheusOK = prometheusUI(ctx, "http://"+f.prometheus)
	}
	if amBin != "" && promBin != "" {
		ui.alertmanager = alertmanagerUI(ctx, "http://"+f.alertmanager)
	}
	var forOf map[string]time.Duration
	if rules, err := os.ReadFile(filepath.Join(f.examples, "prometheus", "alerts.yml")); err == nil {
		forOf, _ = chain.RuleFor(rules)
	}
	describe(os.Stdout, f, fakeURL, soc.Alerts(), promBin != "", amBin != "" && promBin != "", ui, missing, forOf)
	go stageOutage(ctx, os.Stdout, fake, f.outageAt, f.outageFor)
	if err := stageCoverage(ctx, os.Stdout, soc, time.Now(), f); err != nil {
		return err
	}

	select {
	case <-ctx.Done():
		fmt.Println("\nStopping.")
		return nil
	case c := <-died:
		return fmt.Errorf("%s exited; its log is %s", c.name, c.log)
	}
}

// serve runs h on addr until ctx ends and returns its URL.
func serve(ctx context.Context, what, flagName, addr string, h http.Handler) (string, error) {
	ln, err := listen(what, flagName, addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return "http://" + ln.Addr().String(), nil
}

func lookPath(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func startPrometheus(ctx context.Context, f flags, bin string, withAlertmanager bool, watch func(*child) *child) error {
	rules, err := os.ReadFile(filepath.Join(f.examples, "prometheus", "alerts.yml"))
	if err != nil {
		return err
	}
	if rules, err = chain.ShortenFor(rules, f.scale()); err != nil {
		return err
	}
	rulesPath, err := filepath.Abs(filepath.Join(f.dir, "alerts.yml"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(rulesPath, rules, 0o644); err != nil {
		return err
	}
	example, err := os.ReadFile(filepath.Join(f.examples, "prometheus", "prometheus.yml"))
	if err != nil {
		return err
	}
	opts := chain.PrometheusOptions{Interval: f.interval, Exporter: f.exporter, RuleFiles: []string{rulesPath}}
	if withAlertmanager {
		opts.Alertmanager = f.alertmanager
	}
	cfg, err := chain.PrometheusConfig(example, opts)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(f.dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return err
	}
	c, err := startChild(f.dir, "prometheus", bin, []string{
		"--config.file=" + cfgPath, "--storage.tsdb.path=" + filepath.Join(f.dir, "prometheus-data"),
		"--web.listen-address=" + f.prometheus,
	}, nil)
	if err != nil {
		return err
	}
	return watch(c).waitReady(ctx, "http://"+f.prometheus+"/-/ready")
}

func startAlertmanager(ctx context.Context, f flags, bin string, watch func(*child) *child) error {
	p := &printer{out: os.Stdout, scale: f.scale()}
	if rules, err := os.ReadFile(filepath.Join(f.examples, "prometheus", "alerts.yml")); err == nil {
		p.forOf, _ = chain.RuleFor(rules)
	}
	receiverURL, err := serve(ctx, "the notification receiver", "receiver", f.receiver, chain.Receiver{Deliver: p.deliver})
	if err != nil {
		return err
	}
	example, err := os.ReadFile(filepath.Join(f.examples, "alertmanager", "alertmanager.yml"))
	if err != nil {
		return err
	}
	cfg, err := chain.AlertmanagerConfig(example, chain.AlertmanagerOptions{
		Receiver: receiverURL, Divisor: f.scale(),
	})
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(f.dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return err
	}
	c, err := startChild(f.dir, "alertmanager", bin, []string{
		"--config.file=" + cfgPath, "--storage.path=" + filepath.Join(f.dir, "alertmanager-data"),
		"--web.listen-address=" + f.alertmanager, "--cluster.listen-address=",
	}, nil)
	if err != nil {
		return err
	}
	return watch(c).waitReady(ctx, "http://"+f.alertmanager+"/-/ready")
}

// webUI is what the installed Prometheus and Alertmanager serve to a
// browser.
type webUI struct {
	prometheus   string // path prefix of Prometheus' pages: "" or "/classic"
	prometheusOK bool   // it serves an alerts page at all
	alertmanager bool   // Alertmanager serves its UI (Debian's package does not)
}

// describe says where to look, what was left out, and how the generated
// alerts become the counts of the built-in queries.
func describe(out io.Writer, f flags, fakeURL string, alerts []utmstacktest.Alert, prometheus, alertmanager bool, ui webUI, missing []string,
	forOf map[string]time.Duration) {
	var w strings.Builder
	graph := url.Values{
		"g0.expr": {`utmstack_alerts_by_status{query="all"}`}, "g0.tab": {"0"}, "g0.range_input": {"30m"},
		"g1.expr": {`utmstack_alerts_by_severity{query="open"}`}, "g1.tab": {"0"}, "g1.range_input": {"30m"},
	}
	fmt.Fprintln(&w)
	fmt.Fprintf(&w, "  Fake UTMStack  %s (user %s, password %s)\n", fakeURL, user, password)
	fmt.Fprintf(&w, "  Exporter      http://%s/   metrics: http://%s/metrics\n", f.exporter, f.exporter)
	switch {
	case prometheus && ui.prometheusOK:
		fmt.Fprintf(&w, "  Prometheus    http://%s%s/graph?%s\n", f.prometheus, ui.prometheus, graph.Encode())
		fmt.Fprintf(&w, "                alerts: http://%s%s/alerts\n", f.prometheus, ui.prometheus)
	case prometheus:
		fmt.Fprintf(&w, "  Prometheus    http://%s/ (this package serves no web pages; its API: http://%s/api/v1/alerts)\n", f.prometheus, f.prometheus)
	}
	switch {
	case alertmanager && ui.alertmanager:
		fmt.Fprintf(&w, "  Alertmanager  http://%s/#/alerts   notifications are printed below\n", f.alertmanager)
	case alertmanager:
		fmt.Fprintf(&w, "  Alertmanager  %s (no web UI in this package; its API: http://%s/api/v2/alerts); notifications are printed below\n", f.alertmanager, f.alertmanager)
	}
	if prometheus {
		scale := f.scale()
		fmt.Fprintf(&w, "  Time          %d times faster than production: Prometheus scrapes and evaluates every %s instead of\n"+
			"                every minute, and every rule's for:, Alertmanager's timers and the exporter's coverage\n"+
			"                interval are divided by %d. A text that says \"for at least 5 minutes\" means %s here;\n"+
			"                each notification below says so. A silence or an absence reads %d times as long.\n",
			scale, f.interval, scale, model.Duration(5*time.Minute/time.Duration(scale)), scale)
		if f.outageFor > 0 {
			fmt.Fprintf(&w, "  Outage        at %s the fake UTMStack stops answering for %s: UTMStackDown pages, then resolves.\n", f.outageAt, f.outageFor)
		}
		describeCoverage(&w, f, forOf)
	}
	for _, m := range missing {
		fmt.Fprintf(&w, "  Left out      %s\n", m)
	}
	if len(missing) > 0 {
		fmt.Fprintln(&w, "                make demo installs them when it runs as root on Debian or Ubuntu.")
	}
	fmt.Fprintf(&w, "  Files         %s/ (configurations, data, and each program's log)\n", f.dir)
	fmt.Fprintln(&w)
	fmt.Fprintln(&w, explainCounts(alerts, time.Now(), f))
	fmt.Fprintln(&w, "\n  Stop with Ctrl-C.")
	fmt.Fprintln(&w)
	_, _ = io.WriteString(out, w.String())
}

// explainCounts walks the generated alerts through the built-in "all"
// query: its 24-hour window, then exclude_false_positives, then
// exclude_echoes.
func explainCounts(alerts []utmstacktest.Alert, now time.Time, f flags) string {
	var inWindow, falsePositives, echoes int
	for _, a := range alerts {
		ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(a["@timestamp"]))
		if err != nil || now.Sub(ts) > 24*time.Hour {
			continue
		}
		inWindow++
		if tags, _ := a["tags"].([]any); slices.Contains(tags, any("False positive")) {
			falsePositives++
			continue
		}
		if _, ok := a["parentId"]; ok {
			echoes++
		}
	}
	return fmt.Sprintf("  The fake UTMStack holds %d alerts of the last 5 days. utmstack_alerts{query=\"all\"} counts\n"+
		"  those of the last 24 hours (the window): %d; without the %d tagged \"False positive\"\n"+
		"  (exclude_false_positives) and the %d echoes of an earlier alert (exclude_echoes): %d.\n"+
		"  New alerts arrive about every %s, a burst of 20 about every %s, a high-severity\n"+
		"  alert about every %s and an incident about every %s; analysts take them into\n"+
		"  review and complete them.",
		len(alerts), inWindow, falsePositives, echoes, inWindow-falsePositives-echoes, f.every, f.burstEvery, f.highEvery, f.incidentEvery)
}
