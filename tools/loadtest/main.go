// Command loadtest measures what scrapes cost the exporter and UTMStack
// against the budgets of BENCHMARKS.md, and prints a Markdown table. The
// fake UTMStack runs in this process on 127.0.0.1; every phase runs a fresh
// exporter process and fake server, so its figures are its own: N
// concurrent scrapers for -duration with every answer delayed by -latency,
// then -scrapes sequential scrapes without latency. With two -exporter
// binaries each phase runs A, B, A, B, ... for -rounds. -targets measures
// /probe instead (targets.go).
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

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

type options struct {
	exporters, args                    []string
	scrapers                           []int
	rounds, scrapes, maxConc           int
	targets, probers                   int
	latency, duration, interval, limit time.Duration

	dir      string
	deadline time.Time
	fake     *utmstacktest.Server
}

func main() {
	var o options
	flag.Func("exporter", "Exporter binary; repeat it for an A/B run (default: build this tree).", func(s string) error {
		o.exporters = append(o.exporters, s)
		return nil
	})
	args := flag.String("exporter-args", "", "Extra flags for every exporter, separated by spaces.")
	scrapers := flag.String("scrapers", "1,2,10,50", "Concurrent scrapers of the latency phases; the p50 budget applies up to 10.")
	flag.IntVar(&o.rounds, "rounds", 3, "Runs of each phase per exporter.")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "Delay of every upstream answer, except in the sequential phase.")
	flag.DurationVar(&o.duration, "duration", 0, "Length of each latency phase (default 10s), or of the -targets run (default 10m).")
	flag.IntVar(&o.scrapes, "scrapes", 10000, "Sequential scrapes without latency (0 skips the phase).")
	flag.IntVar(&o.maxConc, "max-concurrency", 4, "utmstack.max_concurrency of the exporter and of every target (1-64).")
	flag.IntVar(&o.targets, "targets", 0, "Measure /probe over this many targets instead.")
	flag.IntVar(&o.probers, "probers", 50, "With -targets: concurrent probing clients.")
	flag.DurationVar(&o.interval, "interval", time.Minute, "With -targets: how often each target is probed.")
	flag.DurationVar(&o.limit, "limit", 0, "Bound on the whole run, build included (default: 10m or -duration + 2m, the larger).")
	flag.Parse()
	o.args = strings.Fields(*args)
	for _, f := range strings.Split(*scrapers, ",") {
		if n, err := strconv.Atoi(f); err == nil && n > 0 && n <= 1000 {
			o.scrapers = append(o.scrapers, n)
		}
	}
	probing := o.targets > 0
	if o.duration == 0 && probing {
		o.duration = 10 * time.Minute
	} else if o.duration == 0 {
		o.duration = 10 * time.Second
	}
	if o.limit == 0 {
		o.limit = max(10*time.Minute, o.duration+2*time.Minute)
	}
	if o.rounds < 1 || o.maxConc < 1 || o.maxConc > 64 || o.probers < 1 ||
		(probing && (o.interval < time.Duration(o.targets)*time.Millisecond || o.duration < 2*o.interval || len(o.exporters) > 1)) {
		fmt.Fprintln(os.Stderr, "loadtest: want -rounds and -probers >= 1, -max-concurrency 1-64; with -targets, one exporter, -interval >= 1ms per target and -duration >= 2 intervals")
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
	if len(o.exporters) == 0 {
		if o.exporters, err = build(o); err != nil {
			return err
		}
	}
	o.fake = utmstacktest.New(utmstacktest.Options{Users: map[string]string{user: password}, Alerts: utmstacktest.DemoAlerts(time.Now(), 2000, 1)})
	fmt.Printf("## Load test\n\n%d CPUs, %s; 2000 demo alerts; %d upstream calls per round, max_concurrency %d: floor at L = %v is %v.\n",
		runtime.NumCPU(), runtime.Version(), callsPerRound, o.maxConc, o.latency, o.floor())
	for i, bin := range o.exporters {
		fmt.Printf("Exporter %c: `%s`.\n", 'A'+i, bin)
	}
	if o.targets > 0 {
		return runTargets(o)
	}
	fmt.Printf("%d round(s), exporters interleaved; a cell is the median (min–max), judged on the median.\n\n", o.rounds)
	t := &table{exporters: len(o.exporters)}
	defer t.print()
	for _, n := range append(o.scrapers, 0) { // 0: the sequential phase
		phase := fmt.Sprintf("N = %d, L = %v", n, o.latency)
		if n == 0 {
			phase = fmt.Sprintf("sequential, %d scrapes", o.scrapes)
		}
		for r := 0; r < o.rounds && (n > 0 || o.scrapes > 0); r++ {
			for i, bin := range o.exporters {
				if time.Now().After(o.deadline) {
					return errors.New("-limit reached: the table is partial")
				}
				fmt.Fprintf(os.Stderr, "loadtest: %s, exporter %c, round %d\n", phase, 'A'+i, r+1)
				res, err := measure(o, bin, n)
				switch {
				case err != nil:
					return fmt.Errorf("%s, exporter %c: %w", phase, 'A'+i, err)
				case time.Now().After(o.deadline): // cut short: not a run to count
					return errors.New("-limit reached: the table is partial")
				}
				t.add(phase, i, res)
			}
		}
	}
	return nil
}

// callsPerRound is what the built-in queries ask of UTMStack per round: one
// call per (query, breakdown) pair, all by severity, status and country and
// open by severity and country, plus the status call open's total needs.
const callsPerRound = 6

// floor is the least a round can take: waves of max_concurrency calls.
func (o options) floor() time.Duration {
	return time.Duration((callsPerRound+o.maxConc-1)/o.maxConc) * o.latency
}

// coreConfig is the exporter's configuration; the password comes from
// UTMSTACK_PASSWORD.
func coreConfig(o options, url string) string {
	return fmt.Sprintf("utmstack:\n  url: %s\n  max_concurrency: %d\n  auth:\n    username: %s\n", url, o.maxConc, user)
}

// build compiles the exporter of this module's tree.
func build(o options) ([]string, error) {
	ctx, cancel := context.WithDeadline(context.Background(), o.deadline)
	defer cancel()
	root, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return nil, fmt.Errorf("finding the module: %w", err)
	}
	bin := filepath.Join(o.dir, "utmstack_exporter")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir, cmd.Env = strings.TrimSpace(string(root)), append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	return []string{bin}, nil
}

// measure runs a fresh exporter through n scrapers scraping in a loop for
// -duration, every upstream answer delayed by -latency; or, for n = 0,
// through -scrapes sequential scrapes without latency.
func measure(o options, bin string, n int) ([]result, error) {
	count, latency, sequential := 1_000_000, o.latency, n == 0
	if sequential {
		n, count, latency = 1, o.scrapes, 0
	}
	up := newUpstream(o.fake, latency)
	defer up.Close()
	e, err := startExporter(o, bin, coreConfig(o, up.URL))
	if err != nil {
		return nil, err
	}
	defer e.stop()
	s := newScraper(n)
	if _, _, err := s.get(e.url + "/metrics"); err != nil { // the login
		return nil, fmt.Errorf("first scrape: %w", err)
	}
	calls0, logins, conns, cpu, end := up.calls.Load(), up.logins.Load(), up.conns.Load(), e.cpu(), time.Now().Add(o.duration)
	if sequential {
		end = o.deadline
	}
	var goroutines, heap, open []float64 // sampled 20 times by the first scraper
	latencies := make([][]time.Duration, n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for k := 0; k < count && time.Now().Before(end) && time.Now().Before(o.deadline); k++ {
				body, took, err := s.get(e.url + "/metrics")
				if err != nil {
					failed.Add(1)
					logFailure(err)
					continue
				}
				if latencies[i] = append(latencies[i], took); i == 0 && (k%max(count/20, 1) == 0 || k == count-1) {
					g := gauges(body, "go_goroutines", "go_memstats_heap_inuse_bytes")
					goroutines, heap, open = append(goroutines, g[0]), append(heap, g[1]), append(open, float64(up.open.Load()))
				}
			}
		})
	}
	wg.Wait()
	cpu = e.cpu() - cpu
	all := slices.Sorted(slices.Values(slices.Concat(latencies...)))
	scrapes, calls := float64(len(all))+float64(failed.Load()), float64(up.calls.Load()-calls0)
	res := []result{
		{"failed scrapes", "", float64(failed.Load()), 0, 0},
		{"logins after the first scrape", "", float64(up.logins.Load() - logins), 0, 0},
	}
	if !sequential {
		budget := nan // N > 10 is only reported
		if n <= 10 {
			budget = ms(o.floor())*1.1 + 5
		}
		return append(res, result{fmt.Sprintf("scrape p50 (floor %v)", o.floor()), " ms", percentile(all, 50), -inf, budget},
			result{"scrape p99", " ms", percentile(all, 99), nan, nan},
			result{"scrapes per round", "", scrapes / max(calls/callsPerRound, 1), 0.9 * float64(n), inf},
			result{"exporter CPU per scrape", " ms", cpu * 1000 / scrapes, nan, nan}), nil
	}
	last, half := len(heap)-1, len(heap)/2
	if last < 0 {
		return res, nil // no scrape succeeded
	}
	return append(res,
		result{"upstream calls per round", "", calls / scrapes, callsPerRound, callsPerRound},
		result{"exporter CPU per scrape", " ms", cpu * 1000 / scrapes, -inf, 2},
		result{"peak RSS (VmHWM)", " MiB", float64(e.status().VmHWM) / (1 << 20), -inf, 30},
		result{"goroutines after the first scrape", "", goroutines[0], nan, nan},
		result{"goroutine growth beyond 2 per open upstream connection", "", goroutines[last] - 2*open[last] - goroutines[0] + 2*open[0], -inf, 0},
		result{"heap in use, 2nd-half peak − 1st-half peak", " MiB", (slices.Max(heap[half:]) - slices.Max(heap[:half+1])) / (1 << 20), -inf, 1},
		result{"new upstream connections, whole life", "", float64(up.conns.Load()), nan, nan},
		result{"new upstream connections after the first scrape, per 1000 scrapes", "", 1000 * float64(up.conns.Load()-conns) / scrapes, -inf, float64(o.maxConc)},
	), nil
}

var inf, nan = math.Inf(1), math.NaN()

// result is one measure of one run; lo and hi bound its budget, NaN when it
// is only reported.
type result struct {
	measure, unit string
	value, lo, hi float64
}

// table holds every measure's values per exporter, in the order first seen.
type table struct {
	exporters int
	rows      []*row
}

type row struct {
	phase string
	result
	values [][]float64 // per exporter, per run
}

func (t *table) add(phase string, exporter int, rs []result) {
	for _, r := range rs {
		i := slices.IndexFunc(t.rows, func(w *row) bool { return w.phase == phase && w.measure == r.measure })
		if i < 0 {
			i = len(t.rows)
			t.rows = append(t.rows, &row{phase, r, make([][]float64, t.exporters)})
		}
		t.rows[i].values[exporter] = append(t.rows[i].values[exporter], r.value)
	}
}

func (t *table) print() {
	fmt.Print("| phase | measure | budget |")
	for i := range t.exporters {
		fmt.Printf(" %c |", 'A'+i)
	}
	fmt.Println("\n|---|---|---|" + strings.Repeat("---|", t.exporters))
	for _, w := range t.rows {
		fmt.Printf("| %s | %s | %s |", w.phase, w.measure, w.budget())
		for _, vs := range w.values {
			fmt.Printf(" %s |", w.cell(vs))
		}
		fmt.Println()
	}
}

func (r result) budget() string {
	switch {
	case math.IsNaN(r.hi):
		return "reported"
	case r.lo == r.hi:
		return "= " + num(r.lo) + r.unit
	case r.hi == inf:
		return "≥ " + num(r.lo) + r.unit
	}
	return "≤ " + num(r.hi) + r.unit
}

// cell is the median of one exporter's runs, their range, and the verdict.
func (r result) cell(vs []float64) string {
	if len(vs) == 0 {
		return ""
	}
	slices.Sort(vs)
	m := (vs[(len(vs)-1)/2] + vs[len(vs)/2]) / 2
	s := num(m) + r.unit
	if lo, hi := num(vs[0]), num(vs[len(vs)-1]); lo != hi {
		s += fmt.Sprintf(" (%s–%s)", lo, hi)
	}
	switch {
	case math.IsNaN(r.hi):
		return s
	case m >= r.lo && m <= r.hi:
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

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the nearest-rank percentile of sorted durations, in ms.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return nan
	}
	return ms(sorted[max(int(math.Ceil(p/100*float64(len(sorted))))-1, 0)])
}
