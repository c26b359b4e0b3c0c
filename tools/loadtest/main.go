// Command loadtest measures what scrapes cost the exporter and UTMStack
// against the budgets of BENCHMARKS.md, and prints a Markdown table. The
// fake UTMStack runs in this process on 127.0.0.1. Each phase runs a fresh
// exporter and upstream: N = 1, 2, 10, 50 scrapers for -duration with every
// answer delayed by -latency, then -scrapes sequential scrapes without
// latency. With two -exporter binaries each phase runs A, B, A, B, ... for
// -rounds. -targets measures /probe instead (targets.go).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

type options struct {
	exporters                          []string
	rounds, scrapes, targets, probers  int
	latency, duration, interval, limit time.Duration
	dir                                string
	deadline                           time.Time
	fake                               *utmstacktest.Server
}

func main() {
	var o options
	flag.Func("exporter", "Exporter binary; repeat it for an A/B run (default: build this tree).", func(s string) error {
		o.exporters = append(o.exporters, s)
		return nil
	})
	flag.IntVar(&o.rounds, "rounds", 3, "Runs of each phase per exporter.")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "Delay of every upstream answer, except in the sequential phase.")
	flag.DurationVar(&o.duration, "duration", 0, "Length of each latency phase (default 10s), or of the -targets run (default 10m).")
	flag.IntVar(&o.scrapes, "scrapes", 10000, "Sequential scrapes without latency (0 skips the phase).")
	flag.IntVar(&o.targets, "targets", 0, "Measure /probe over this many targets instead.")
	flag.IntVar(&o.probers, "probers", 50, "With -targets: concurrent probing clients.")
	flag.DurationVar(&o.interval, "interval", time.Minute, "With -targets: how often each target is probed.")
	flag.DurationVar(&o.limit, "limit", 0, "Bound on the whole run, build included (default: 10m or -duration + 2m, the larger).")
	flag.Parse()
	o.duration = cmp.Or(o.duration, map[bool]time.Duration{false: 10 * time.Second, true: 10 * time.Minute}[o.targets > 0])
	o.limit = cmp.Or(o.limit, max(10*time.Minute, o.duration+2*time.Minute))
	if o.rounds < 1 || o.probers < 1 || o.targets > 0 && (o.interval < time.Duration(o.targets)*time.Millisecond || o.duration < 2*o.interval || len(o.exporters) > 1) {
		fmt.Fprintln(os.Stderr, "loadtest: want -rounds and -probers >= 1; with -targets, one exporter, -interval >= 1ms per target and -duration >= 2 intervals")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(o options) (err error) {
	o.deadline = time.Now().Add(o.limit)
	if o.dir, err = os.MkdirTemp("", "utmstack-loadtest-"); err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(o.dir) }()
	if len(o.exporters) == 0 { // this module's tree
		ctx, cancel := context.WithDeadline(context.Background(), o.deadline)
		defer cancel()
		o.exporters = []string{filepath.Join(o.dir, "utmstack_exporter")}
		if out, err := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", o.exporters[0], "github.com/utmstack/utmstack_exporter").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, out)
		}
	}
	o.fake = utmstacktest.New(utmstacktest.Options{Users: map[string]string{user: password}, Alerts: utmstacktest.DemoAlerts(time.Now(), 2000, 1)})
	fmt.Printf("## Load test\n\n%d CPUs, %s; 2000 demo alerts, the built-in queries, max_concurrency %d.\n", runtime.NumCPU(), runtime.Version(), maxConcurrency)
	for i, bin := range o.exporters {
		fmt.Printf("Exporter %c: `%s`.\n", 'A'+i, bin)
	}
	if o.targets > 0 {
		return runTargets(o)
	}
	fmt.Printf("%d round(s), exporters interleaved; a cell is the median (min–max), judged on the median.\n\n", o.rounds)
	t := &table{exporters: len(o.exporters)}
	defer t.print()
	for _, n := range []int{1, 2, 10, 50, 0} { // 0: the sequential phase
		phase := map[bool]string{false: fmt.Sprintf("N = %d, L = %v", n, o.latency), true: fmt.Sprintf("sequential, %d scrapes", o.scrapes)}[n == 0]
		for r := 0; r < o.rounds && (n > 0 || o.scrapes > 0); r++ {
			for i, bin := range o.exporters {
				fmt.Fprintf(os.Stderr, "loadtest: %s, exporter %c, round %d\n", phase, 'A'+i, r+1)
				res, err := measure(o, bin, n)
				if err != nil {
					return fmt.Errorf("%s, exporter %c: %w", phase, 'A'+i, err)
				} else if time.Now().After(o.deadline) { // cut short: not a run to count
					return errors.New("-limit reached: the table is partial")
				}
				t.add(phase, i, res)
			}
		}
	}
	return nil
}

// builtin is what a round of the built-in queries asks: a count per (query,
// breakdown) pair, all by severity, status, country and rule and open by
// severity, country and rule, plus the status call open's total needs; a
// search per age (all's newest, open's oldest); an incident count per
// status. A round may add one periodic call, never two.
var builtin = counts{values: 8, searches: 2, incidents: 4}

const maxConcurrency = 4 // the exporter's default, written into its configuration

// floor is the least a round of perRound calls can take: waves of
// max_concurrency calls, each waiting the latency.
func floor(perRound float64, latency time.Duration) time.Duration {
	return time.Duration(math.Ceil(math.Round(perRound)/maxConcurrency)) * latency
}

// coreConfig is the exporter's configuration; the password comes from
// UTMSTACK_PASSWORD.
func coreConfig(url string) string {
	return fmt.Sprintf("utmstack:\n  url: %s\n  max_concurrency: %d\n  auth:\n    username: %s\n", url, maxConcurrency, user)
}

// measure runs a fresh exporter through n scrapers scraping in a loop for
// -duration, every upstream answer delayed by -latency; or, for n = 0,
// through -scrapes sequential scrapes without latency, each its own round.
func measure(o options, bin string, n int) ([]result, error) {
	count, latency, sequential := 1_000_000, o.latency, n == 0
	if sequential {
		n, count, latency = 1, o.scrapes, 0
	}
	up := newUpstream(o.fake, latency)
	defer up.Close()
	e, err := startExporter(o, bin, coreConfig(up.URL))
	if err != nil {
		return nil, err
	}
	defer e.stop()
	client := newClient(n)
	if _, _, err := scrape(client, e.url+"/metrics"); err != nil { // the login
		return nil, fmt.Errorf("first scrape: %w", err)
	}
	before, conns, cpu, end := up.counts(), up.conns.Load(), e.cpu(), time.Now().Add(o.duration)
	if sequential || end.After(o.deadline) {
		end = o.deadline
	}
	var goroutines, heap, open []float64 // sampled 20 times by the first scraper
	var most int64                       // sequential: the calls of the busiest scrape, which is one round
	latencies := make([][]time.Duration, n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			calls := up.counts().calls()
			for k := 0; k < count && time.Now().Before(end); k++ {
				body, took, err := scrape(client, e.url+"/metrics")
				if c := up.counts().calls(); sequential {
					most, calls = max(most, c-calls), c
				}
				if err != nil {
					logFailure(err, failed.Add(1))
				} else if latencies[i] = append(latencies[i], took); i == 0 && (k%max(count/20, 1) == 0 || k == count-1) {
					g := gauges(body, "go_goroutines", "go_memstats_heap_inuse_bytes")
					goroutines, heap, open = append(goroutines, g[0]), append(heap, g[1]), append(open, float64(up.open.Load()))
				}
			}
		})
	}
	wg.Wait()
	cpu = e.cpu() - cpu
	d, all := up.counts().minus(before), slices.Sorted(slices.Values(slices.Concat(latencies...)))
	scrapes, rounds := float64(len(all))+float64(failed.Load()), max(float64(d[roundsOf]), 1)
	per := func(k int) float64 { return float64(d[k]) / rounds }
	res := []result{{"failed scrapes", "", float64(failed.Load()), "= 0"}, {"logins after the first scrape", "", float64(d[logins]), "= 0"}}
	if !sequential {
		f, limit := floor(per(values)+per(searches)+per(incidents), o.latency), "reported" // N > 10 is only reported
		if n <= 10 {
			limit = "≤ " + num(ms(f)*1.1+5)
		}
		return append(res, result{fmt.Sprintf("scrape p50 (floor %v)", f), " ms", p50(all), limit},
			result{"scrapes per round", "", scrapes / rounds, "≥ " + num(0.9*float64(n))},
			result{"exporter CPU per scrape", " ms", cpu * 1000 / scrapes, "reported"}), nil
	}
	last, half := len(heap)-1, len(heap)/2
	if last < 0 {
		return res, nil // no scrape succeeded
	}
	return append(res,
		result{"counts (values-with-count) per round", "", per(values), fmt.Sprint("= ", builtin[values])},
		result{"ages (search) per round", "", per(searches), fmt.Sprint("= ", builtin[searches])},
		result{"incident counts per round", "", per(incidents), fmt.Sprint("= ", builtin[incidents])},
		result{"periodic calls per round", "", per(periodic), "reported"},
		result{"calls of the busiest round", "", float64(most), fmt.Sprint("≤ ", builtin.calls()+1)},
		result{"exporter CPU per scrape", " ms", cpu * 1000 / scrapes, "≤ 2"},
		result{"peak RSS (VmHWM)", " MiB", float64(e.status().VmHWM) / (1 << 20), "≤ 30"},
		result{"goroutine growth beyond 2 per open upstream connection", "", goroutines[last] - 2*open[last] - goroutines[0] + 2*open[0], "≤ 0"},
		result{"heap in use, 2nd-half peak − 1st-half peak", " MiB", (slices.Max(heap[half:]) - slices.Max(heap[:half+1])) / (1 << 20), "≤ 1"},
		result{"new upstream connections after the first scrape, per 1000 scrapes", "", 1000 * float64(up.conns.Load()-conns) / scrapes, "≤ 1"},
	), nil
}
