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

// probe is one /probe request: when it started, how long it took.
type probe struct {
	at, took time.Duration
	ok       bool
}

// runTargets measures /probe over -targets targets served by one fake
// UTMStack: the exporter gives each target its own HTTP client, so each has
// its own connections anyway. -probers clients probe every target once per
// -interval for -duration, spread over the interval as Prometheus spreads
// its targets. One interval before the end the configuration is reloaded
// with nothing changed but a comment.
func runTargets(o options) error {
	up := newUpstream(o.fake, o.latency) // the targets' UTMStack
	defer up.Close()
	top := newUpstream(o.fake, 0) // /metrics' own, so that sampling it counts nowhere
	defer top.Close()
	passwordFile := filepath.Join(o.dir, "password")
	if err := os.WriteFile(passwordFile, []byte(password), 0o600); err != nil {
		return err
	}
	e, err := startExporter(o, o.exporters[0], targetsConfig(o.targets, top.URL, up.URL, passwordFile))
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
	probes, failures := make([][]probe, o.probers), atomic.Int64{}
	var wg sync.WaitGroup
	for p := range o.probers {
		wg.Go(func() {
			for i := range jobs {
				at := time.Since(start)
				_, took, err := scrape(client, fmt.Sprintf("%s/probe?target=t%04d", e.url, i))
				if probes[p] = append(probes[p], probe{at, took, err == nil}); err != nil {
					logFailure(err, failures.Add(1))
				}
			}
		})
	}
	// Sampled every 10 s at most: when, VmRSS, open fds, goroutines.
	var at []time.Duration
	var rss, fds, goroutines []float64
	var settled [2]int64 // connections and logins once every target has had its first probe
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
				settled = [2]int64{up.conns.Load(), up.n[logins].Load()}
			case <-reloadAt:
				reloadLogins = up.n[logins].Load() + top.n[logins].Load()
				reload = reloadUnchanged(e)
			case <-tick.C:
				n, _ := e.proc.FileDescriptorsLen()
				body, _, _ := scrape(client, e.url+"/metrics")
				at, rss = append(at, time.Since(start)), append(rss, float64(e.status().VmRSS)/(1<<20))
				fds, goroutines = append(fds, float64(n)), append(goroutines, gauges(body, "go_goroutines")[0])
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
	var steady []time.Duration // probes after the first interval
	failed, all := 0, slices.Concat(probes...)
	for _, p := range all {
		if !p.ok {
			failed++
		} else if p.at >= o.interval {
			steady = append(steady, p.took)
		}
	}
	slices.Sort(steady)
	c := up.counts() // a probe is a round of its target
	perRound := float64(c[values]+c[searches]+c[incidents]) / max(float64(c[roundsOf]), 1)
	f := floor(perRound, o.latency)
	res := []result{
		{"probes", "", float64(len(all)), "reported"},
		{"failed probes", "", float64(failed), "= 0"},
		{"probes skipped: no prober free within the target's slot", "", float64(skipped), "= 0"},
		{fmt.Sprintf("probe p50 after the first interval (floor %v)", f), " ms", p50(steady), "≤ " + num(ms(f)*1.1+5)},
		{"upstream calls per probe, periodic ones aside", "", perRound, fmt.Sprint("= ", builtin.calls())},
		{"exporter CPU per probe (sampling and reload included)", " ms", cpu * 1000 / float64(len(all)), "reported"},
		{"peak RSS (VmHWM)", " MiB", float64(e.status().VmHWM) / (1 << 20), "≤ 64"},
		{"goroutines, max sampled", "", peak(goroutines), "≤ 2000"},
		{"open fds, max sampled", "", peak(fds), "≤ 1100"},
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
		res = append(res, result{g.name + " max from the 2nd interval", g.unit, slices.Max(w), "reported"},
			result{g.name + " growth: later half's peak over the earlier half's", " %", 100 * (late - early) / early, "≤ 10"})
	}
	res = append(res,
		result{"new upstream connections", "", float64(up.conns.Load()), "reported"},
		result{"new upstream connections after the first interval", "", float64(up.conns.Load() - settled[0]), "reported"},
		result{"logins", "", float64(up.n[logins].Load()), "reported"},
		result{"logins after the first interval", "", float64(up.n[logins].Load() - settled[1]), "= 0"},
		result{"reload with nothing changed (POST /-/reload)", " ms", reload, "≤ 1000"},
		result{"logins from the reload to the end", "", float64(reloadLogins), "= 0"},
	)
	t := &table{exporters: 1}
	t.add("targets", 0, res)
	t.print()
	return nil
}

// targetsConfig names -targets targets t0000, t0001, ... at url, each with
// its password in a file (UTMSTACK_PASSWORD serves only the top level).
// /metrics reuses its counts for an hour, so that sampling it costs no round.
func targetsConfig(targets int, topURL, url, passwordFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "utmstack:\n  url: %s\n  min_interval: 1h\n  auth:\n    username: %s\ntargets:\n", topURL, user)
	for i := range targets {
		fmt.Fprintf(&b, "  t%04d:\n    url: %s\n    max_concurrency: %d\n    auth: {username: %s, password_file: %s}\n", i, url, maxConcurrency, user, passwordFile)
	}
	return b.String()
}

// peak is the largest value, NaN for none.
func peak(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	return slices.Max(vs)
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
			if _ = resp.Body.Close(); resp.StatusCode == http.StatusOK {
				return ms(time.Since(start))
			}
			err = errors.New(resp.Status)
		}
	}
	fmt.Fprintln(os.Stderr, "loadtest: reload:", err)
	return math.NaN()
}
