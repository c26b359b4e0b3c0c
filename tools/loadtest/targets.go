package main

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runTargets measures /probe over -targets targets served by one fake
// UTMStack: the exporter gives each target its own HTTP client, so each has
// its own connections anyway. -probers clients probe every target once per
// -interval for -duration, spread over the interval as Prometheus spreads
// its targets. One interval before the end the configuration is reloaded
// with nothing changed but a comment.
func runTargets(o options) error {
	up, err := newUpstream(o, o.latency) // the targets' UTMStack
	if err != nil {
		return err
	}
	defer up.Close()
	top, err := newUpstream(o, 0) // /metrics' own, so that sampling it counts nowhere
	if err != nil {
		return err
	}
	defer top.Close()
	passwordFile := filepath.Join(o.dir, "password")
	if err := os.WriteFile(passwordFile, []byte(password), 0o600); err != nil {
		return err
	}
	e, err := startExporter(o, o.exporters[0], targetsConfig(o.targets, top, up, passwordFile))
	if err != nil {
		return err
	}
	defer e.stop()
	client := newClient(o.probers + 1)
	if _, _, err := scrape(client, e.url+"/metrics"); err != nil {
		return fmt.Errorf("first scrape of /metrics: %w", err)
	}
	fmt.Printf("%d targets on one fake UTMStack, %d probers, L = %v, each target probed every %v for %v.\n\n",
		o.targets, o.probers, o.latency, o.interval, o.duration)

	start, cpu := time.Now(), e.cpu()
	end := start.Add(o.duration)
	jobs := make(chan int) // no queue, so that a late probe shows
	var probes, failed atomic.Int64
	steady := make([][]float64, o.probers) // per prober, probes after the first interval, in ms
	var wg sync.WaitGroup
	for p := range o.probers {
		wg.Go(func() {
			for i := range jobs {
				late := time.Since(start) >= o.interval
				_, took, err := scrape(client, fmt.Sprintf("%s/probe?target=t%04d", e.url, i))
				probes.Add(1)
				if err != nil {
					failure(&failed, err)
				} else if late {
					steady[p] = append(steady[p], took)
				}
			}
		})
	}
	// Sampled every 10 s at most: when, VmRSS, open fds, goroutines.
	var at []time.Duration
	var rss, fds, goroutines []float64
	var settled counts // once every target has had its first probe
	var settledProbes int64
	reload, reloadLogins := math.NaN(), int64(0)
	wg.Go(func() {
		every := min(10*time.Second, max(o.duration/30, time.Second))
		tick := time.NewTicker(every)
		defer tick.Stop()
		// The last target's first probe starts just before the interval ends.
		first, reloadAt := time.After(o.interval+time.Second), time.After(o.duration-o.interval)
		for range o.duration/every + 4 {
			select {
			case <-first:
				settled, settledProbes = up.counts(), probes.Load()
			case <-reloadAt:
				reloadLogins = up.n[logins].Load() + top.n[logins].Load()
				reload = reloadUnchanged(e)
			case <-tick.C:
				n, _ := e.proc.FileDescriptorsLen()
				status, _ := e.proc.NewStatus()
				body, _, _ := scrape(client, e.url+"/metrics")
				at = append(at, time.Since(start))
				rss = append(rss, float64(status.VmRSS)/(1<<20))
				fds = append(fds, float64(n))
				goroutines = append(goroutines, gauge(body, "go_goroutines"))
			}
			if time.Now().After(end) || time.Now().After(o.deadline) {
				return
			}
		}
	})
	// Target i is due i × interval/targets into every interval; a target
	// that no prober takes within its slot is skipped.
	period := o.interval / time.Duration(o.targets)
	tick := time.NewTicker(period)
	skipped := 0
	for i := 0; i < int(o.duration/period) && time.Now().Before(end) && time.Now().Before(o.deadline); i++ {
		select {
		case jobs <- i % o.targets:
			<-tick.C
		case <-tick.C:
			skipped++
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	cpu = e.cpu() - cpu
	reloadLogins = up.n[logins].Load() + top.n[logins].Load() - reloadLogins
	c := up.counts() // a probe is a round of its target
	perRound := float64(c[values]+c[searches]+c[incidents]) / max(float64(c[roundsOf]), 1)
	f := floor(perRound, o.latency)
	all := float64(probes.Load())
	rs := []result{
		{"probes", "", "reported", all},
		{"failed probes", "", "= 0", float64(failed.Load())},
		{"probes skipped: no prober free within the target's slot", "", "= 0", float64(skipped)},
		{fmt.Sprintf("probe p50 after the first interval (floor %v)", f), " ms", "≤ " + num(ms(f)*1.1+5), median(slices.Concat(steady...))},
		{"upstream calls per probe, periodic ones aside", "", "= 14", perRound},
		{"exporter CPU per probe (sampling and reload included)", " ms", "reported", cpu * 1000 / all},
		{"peak RSS (VmHWM)", " MiB", "≤ 64", e.peakRSS()},
		{"goroutines, max sampled", "", "≤ 2000", peak(goroutines)},
		{"open fds, max sampled", "", "≤ 1100", peak(fds)},
	}
	// Growth is judged from the second interval on, once every target has
	// its client and connections: the later half's peak against the earlier's.
	from := slices.IndexFunc(at, func(d time.Duration) bool { return d >= 2*o.interval })
	for _, g := range []struct {
		name, unit string
		values     []float64
	}{{"VmRSS", " MiB", rss}, {"goroutines", "", goroutines}, {"open fds", "", fds}} {
		if from < 0 || len(g.values)-from < 2 {
			continue
		}
		w := g.values[from:]
		early, late := slices.Max(w[:len(w)/2]), slices.Max(w[len(w)/2:])
		rs = append(rs, result{g.name + " max from the 2nd interval", g.unit, "reported", slices.Max(w)},
			result{g.name + " growth: later half's peak over the earlier half's", " %", "≤ 10", 100 * (late - early) / early})
	}
	d := c.since(settled)
	rs = append(rs, result{"new upstream connections", "", "reported", float64(c[conns])})
	rs = append(rs, up.connections(d, all-float64(settledProbes), "per probe after the first interval", "= 0")...)
	rs = append(rs,
		result{"logins after the first interval", "", "= 0", float64(d[logins])},
		result{"reload with nothing changed (POST /-/reload)", " ms", "≤ 1000", reload},
		result{"logins from the reload to the end", "", "= 0", float64(reloadLogins)})
	t := &table{exporters: 1, values: map[string][][]float64{}}
	t.add("targets", 0, rs)
	t.print()
	return nil
}

// targetsConfig names -targets targets t0000, t0001, ... on up, each with
// its password in a file (UTMSTACK_PASSWORD serves only the top level).
// /metrics, on top, reuses its counts for an hour, so that sampling it
// costs no round.
func targetsConfig(targets int, top, up *upstream, passwordFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "utmstack:\n  url: %s\n  min_interval: 1h\n  auth:\n    username: %s\n%stargets:\n", top.URL, user, top.tlsConfig("  "))
	for i := range targets {
		fmt.Fprintf(&b, "  t%04d:\n    url: %s\n    max_concurrency: %d\n    auth: {username: %s, password_file: %s}\n%s",
			i, up.URL, maxConcurrency, user, passwordFile, up.tlsConfig("    "))
	}
	return b.String()
}

// reloadUnchanged adds a comment to the configuration and times
// POST /-/reload, in ms; NaN when it fails.
func reloadUnchanged(e *exporter) float64 {
	b, err := os.ReadFile(e.config)
	if err == nil {
		err = os.WriteFile(e.config, append(b, "# reloaded by the load test, nothing else changed\n"...), 0o600)
	}
	start := time.Now()
	if err == nil {
		var resp *http.Response
		if resp, err = http.Post(e.url+"/-/reload", "text/plain", nil); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return ms(time.Since(start))
			}
			err = errors.New(resp.Status)
		}
	}
	fmt.Fprintln(os.Stderr, "loadtest: reload:", err)
	return math.NaN()
}

// peak is the largest value, NaN for none.
func peak(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	return slices.Max(values)
}
