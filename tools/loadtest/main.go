// Command loadtest measures what scrapes cost the exporter and UTMStack
// against the budgets of BENCHMARKS.md, and prints a Markdown table. The
// fake UTMStack runs in this process on 127.0.0.1 (upstream.go), each
// exporter binary as a child process (exporter.go). Each phase runs a fresh
// exporter and upstream: N = 1, 2, 10, 50 scrapers for -duration with every
// answer delayed by -latency, then -scrapes sequential scrapes without
// latency. Several -exporter binaries run interleaved, A, B, A, B, ...,
// -rounds times. -targets measures /probe instead (targets.go).
package main

import (
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/utmstack/utmstack_exporter/tools/demo/living"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

type options struct {
	exporters                          []string
	upstream                           string
	rounds, scrapes, targets, probers  int
	latency, duration, interval, limit time.Duration
	dir                                string    // the run's files
	deadline                           time.Time // the end of -limit
	fake                               *utmstacktest.Server
}

func main() {
	var o options
	flag.Func("exporter", "Exporter binary; repeat it for an A/B run (default: build this tree).", func(s string) error {
		o.exporters = append(o.exporters, s)
		return nil
	})
	flag.StringVar(&o.upstream, "upstream", "https", "The fake UTMStack over http, https (HTTP/1.1, as UTMStack's nginx) or h2 (HTTPS with HTTP/2).")
	flag.IntVar(&o.rounds, "rounds", 3, "Runs of each phase per exporter.")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "Delay of every upstream answer, except in the sequential phase.")
	flag.DurationVar(&o.duration, "duration", 0, "Length of each latency phase (default 10s), or of the -targets run (default 10m).")
	flag.IntVar(&o.scrapes, "scrapes", 10000, "Sequential scrapes without latency (0 skips the phase).")
	flag.IntVar(&o.targets, "targets", 0, "Measure /probe over this many targets instead.")
	flag.IntVar(&o.probers, "probers", 50, "With -targets: concurrent probing clients.")
	flag.DurationVar(&o.interval, "interval", time.Minute, "With -targets: how often each target is probed.")
	flag.DurationVar(&o.limit, "limit", 0, "Bound on the whole run, build included (default: 10m or -duration + 2m, the larger).")
	flag.Parse()
	if o.duration == 0 {
		o.duration = 10 * time.Second
		if o.targets > 0 {
			o.duration = 10 * time.Minute
		}
	}
	if o.limit == 0 {
		o.limit = max(10*time.Minute, o.duration+2*time.Minute)
	}
	var err error
	switch {
	case o.upstream != "http" && o.upstream != "https" && o.upstream != "h2":
		err = fmt.Errorf("-upstream %q: want http, https or h2", o.upstream)
	case o.rounds < 1 || o.probers < 1:
		err = fmt.Errorf("-rounds %d, -probers %d: want 1 or more", o.rounds, o.probers)
	case o.targets > 0 && (len(o.exporters) > 1 || o.interval < time.Duration(o.targets)*time.Millisecond || o.duration < 2*o.interval):
		err = fmt.Errorf("-targets %d: want one -exporter, -interval (%v) of 1ms or more per target, -duration (%v) of 2 intervals or more",
			o.targets, o.interval, o.duration)
	default:
		err = run(o)
	}
	if err != nil {
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
		bin := filepath.Join(o.dir, "utmstack_exporter")
		if out, err := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "github.com/utmstack/utmstack_exporter").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, out)
		}
		o.exporters = []string{bin}
	}
	o.fake = utmstacktest.New(utmstacktest.Options{Users: map[string]string{user: password}, Alerts: living.Alerts(time.Now(), 2000, 1)})
	fmt.Printf("## Load test\n\n%d CPUs, %s; 2000 demo alerts, the built-in queries, max_concurrency %d; -upstream %s.\n",
		runtime.NumCPU(), runtime.Version(), maxConcurrency, o.upstream)
	for i, bin := range o.exporters {
		fmt.Printf("Exporter %c: `%s`.\n", 'A'+i, bin)
	}
	if o.targets > 0 {
		return runTargets(o)
	}
	fmt.Printf("%d round(s), exporters interleaved; a cell is the median (min–max), judged on the median.\n\n", o.rounds)
	t := &table{exporters: len(o.exporters), values: map[string][][]float64{}}
	defer t.print()
	for _, n := range []int{1, 2, 10, 50, 0} { // 0: the sequential phase
		phase := fmt.Sprintf("N = %d, L = %v", n, o.latency)
		if n == 0 {
			phase = fmt.Sprintf("sequential, %d scrapes", o.scrapes)
		}
		for round := 0; round < o.rounds && (n > 0 || o.scrapes > 0); round++ {
			for i, bin := range o.exporters {
				fmt.Fprintf(os.Stderr, "loadtest: %s, exporter %c, round %d\n", phase, 'A'+i, round+1)
				rs, err := measure(o, bin, n)
				if err != nil {
					return fmt.Errorf("%s, exporter %c: %w", phase, 'A'+i, err)
				}
				if time.Now().After(o.deadline) { // cut short: not a run to count
					return errors.New("-limit reached: the table is partial")
				}
				t.add(phase, i, rs)
			}
		}
	}
	return nil
}

const maxConcurrency = 4 // the exporter's default, written into its configuration

// floor is the least a round of perRound calls can take: waves of
// max_concurrency calls, each waiting the latency.
func floor(perRound float64, latency time.Duration) time.Duration {
	return time.Duration(math.Ceil(math.Round(perRound)/maxConcurrency)) * latency
}

// coreConfig is the exporter's configuration; the password comes from
// UTMSTACK_PASSWORD.
func coreConfig(up *upstream) string {
	return fmt.Sprintf("utmstack:\n  url: %s\n  max_concurrency: %d\n  auth:\n    username: %s\n%s", up.URL, maxConcurrency, user, up.tlsConfig("  "))
}

// measure runs a fresh exporter against a fresh upstream through n scrapers
// scraping in a loop for -duration, every upstream answer delayed by
// -latency; or, for n = 0, through -scrapes sequential scrapes without
// latency, each its own round.
func measure(o options, bin string, n int) ([]result, error) {
	sequential := n == 0
	latency, count, end := o.latency, math.MaxInt, time.Now().Add(o.duration)
	if sequential {
		latency, count, end, n = 0, o.scrapes, o.deadline, 1
	}
	up, err := newUpstream(o, latency)
	if err != nil {
		return nil, err
	}
	defer up.Close()
	e, err := startExporter(o, bin, coreConfig(up))
	if err != nil {
		return nil, err
	}
	defer e.stop()
	client := newClient(n)
	if _, _, err := scrape(client, e.url+"/metrics"); err != nil { // the login
		return nil, fmt.Errorf("first scrape: %w", err)
	}
	before, cpu := up.counts(), e.cpu()
	var failed atomic.Int64
	var busiest int64              // sequential: the calls of the busiest scrape, which is one round
	var goroutines, heap []float64 // sequential: sampled about 20 times
	latencies := make([][]float64, n)
	var wg sync.WaitGroup
	for s := range n {
		wg.Go(func() {
			for k := 0; k < count && time.Now().Before(end); k++ {
				calls := up.counts().calls()
				body, took, err := scrape(client, e.url+"/metrics")
				if err != nil {
					failure(&failed, err)
					continue
				}
				latencies[s] = append(latencies[s], took)
				if sequential {
					busiest = max(busiest, up.counts().calls()-calls)
				}
				if sequential && (k%(count/20+1) == 0 || k == count-1) {
					// Each open HTTP/1.1 upstream connection holds 2 goroutines.
					goroutines = append(goroutines, gauge(body, "go_goroutines")-2*float64(up.open.Load()))
					heap = append(heap, gauge(body, "go_memstats_heap_inuse_bytes")/(1<<20))
				}
			}
		})
	}
	wg.Wait()
	all := slices.Concat(latencies...)
	scrapes := float64(len(all)) + float64(failed.Load())
	cpuPerScrape := 1000 * (e.cpu() - cpu) / scrapes
	d := up.counts().since(before)
	rounds := max(float64(d[roundsOf]), 1)
	rs := []result{
		{"failed scrapes", "", "= 0", float64(failed.Load())},
		{"logins after the first scrape", "", "= 0", float64(d[logins])},
	}
	if !sequential {
		f := floor(float64(d[values]+d[searches]+d[incidents])/rounds, o.latency)
		p50Budget := "reported" // N > 10 is only reported
		if n <= 10 {
			p50Budget = "≤ " + num(ms(f)*1.1+5)
		}
		return append(rs,
			result{fmt.Sprintf("scrape p50 (floor %v)", f), " ms", p50Budget, median(all)},
			result{"scrapes per round", "", "≥ " + num(0.9*float64(n)), scrapes / rounds},
			result{"exporter CPU per scrape", " ms", "reported", cpuPerScrape}), nil
	}
	if len(heap) < 2 {
		return rs, nil // no scrape succeeded
	}
	half := len(heap) / 2
	// A round of the built-in queries: a count per (query, breakdown) pair,
	// all by severity, status, country and rule and open by severity,
	// country and rule, plus the status call open's total needs; a search per
	// age, all's newest and open's oldest; an incident count per status; now
	// and then one periodic call, never two.
	rs = append(rs,
		result{"counts (values-with-count) per round", "", "= 8", float64(d[values]) / rounds},
		result{"ages (search) per round", "", "= 2", float64(d[searches]) / rounds},
		result{"incident counts per round", "", "= 4", float64(d[incidents]) / rounds},
		result{"periodic calls per round", "", "reported", float64(d[periodic]) / rounds},
		result{"calls of the busiest round", "", "≤ 15", float64(busiest)},
		result{"exporter CPU per scrape", " ms", "≤ 2", cpuPerScrape},
		result{"peak RSS (VmHWM)", " MiB", "≤ 30", e.peakRSS()},
		result{"goroutine growth beyond 2 per open upstream connection", "", "≤ 0", goroutines[len(goroutines)-1] - goroutines[0]},
		result{"heap in use, 2nd-half peak − 1st-half peak", " MiB", "≤ 1", slices.Max(heap[half:]) - slices.Max(heap[:half])})
	return append(rs, up.connections(d, scrapes/1000, "after the first scrape, per 1000 scrapes", "≤ 1")...), nil
}

// result is one measure of one run and its budget: "= 0", "≤ 2", "≥ 45", or
// "reported" when there is none.
type result struct {
	name, unit, budget string
	value              float64
}

// table holds every run's results: a row per phase and measure, in the
// order first seen, and per row each exporter's values.
type table struct {
	exporters int
	rows      []result
	values    map[string][][]float64
}

func (t *table) add(phase string, exporter int, rs []result) {
	for _, r := range rs {
		r.name = phase + " | " + r.name
		if t.values[r.name] == nil {
			t.rows = append(t.rows, r)
			t.values[r.name] = make([][]float64, t.exporters)
		}
		t.values[r.name][exporter] = append(t.values[r.name][exporter], r.value)
	}
}

func (t *table) print() {
	fmt.Print("| phase | measure | budget |")
	for i := range t.exporters {
		fmt.Printf(" %c |", 'A'+i)
	}
	fmt.Println("\n|---|---|---|" + strings.Repeat("---|", t.exporters))
	for _, r := range t.rows {
		budget := r.budget
		if budget != "reported" {
			budget += r.unit
		}
		fmt.Printf("| %s | %s |", r.name, budget)
		for _, values := range t.values[r.name] {
			fmt.Printf(" %s |", r.cell(values))
		}
		fmt.Println()
	}
}

// cell is the median of one exporter's runs, their range, and whether the
// median meets the budget.
func (r result) cell(values []float64) string {
	if len(values) == 0 {
		return ""
	}
	m := median(values)
	s := num(m) + r.unit
	if lo, hi := num(slices.Min(values)), num(slices.Max(values)); lo != hi {
		s += fmt.Sprintf(" (%s–%s)", lo, hi)
	}
	op, limit, _ := strings.Cut(r.budget, " ")
	l, err := strconv.ParseFloat(limit, 64)
	switch {
	case err != nil:
		return s
	case op == "=" && m == l, op == "≤" && m <= l, op == "≥" && m >= l:
		return s + ", yes"
	}
	return s + ", **no**"
}

// num rounds to four significant digits.
func num(v float64) string {
	if v != 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
		p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(v))))
		v = math.Round(v*p) / p
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func median(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	v := slices.Sorted(slices.Values(values))
	return (v[(len(v)-1)/2] + v[len(v)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
