// Command loadtest measures what scrapes cost the exporter and UTMStack.
//
// It starts the fake UTMStack in this process (httptest on 127.0.0.1, with
// the demo alerts), builds the exporter binary and runs it as a child
// process (configuration in a temporary file, password in
// UTMSTACK_PASSWORD) so that its CPU time and peak RSS can be read from
// /proc/<pid>, then drives scrapes at it on loopback. Each phase starts a
// fresh exporter process:
//
//   - concurrent: -scrapers scrapers scrape in a loop for -duration, with
//     every upstream answer delayed by -latency;
//   - sequential: -sequential scrapes one after the other (no latency), for
//     the CPU per scrape, peak RSS, and heap and goroutine growth;
//   - bare: -bare sequential scrapes against an exporter run with
//     --web.disable-exporter-metrics (no Go and process collectors).
//
// A wrapper around the fake counts the upstream calls, logins, requests in
// flight, new connections (http.Server.ConnState) and distinct request
// bodies. With -replay (the default) a values-with-count body seen before is
// answered with the fake's first answer, as OpenSearch's request cache
// would, so that the fake's filter evaluation, which runs in this process,
// does not compete with the exporter for the CPU.
//
// It prints a Markdown table. Every loop is bounded in count and in time;
// the whole run, build included, is capped by -limit (115 s by default).
// Only loopback addresses are used. See BENCHMARKS.md.
//
//	go run ./tools/loadtest -latency 50ms -scrapers 50 -duration 30s
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
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

	"github.com/utmstack/utmstack_exporter/internal/procstat"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	user     = "prometheus"
	password = "loadtest-password-1"
	dataPath = "/api/elasticsearch/property/values-with-count"
	authPath = "/api/authenticate"
)

type options struct {
	latency        time.Duration
	scrapers       int
	duration       time.Duration
	sequential     int
	bare           int
	alerts         int
	maxConcurrency int
	queries        int
	limit          time.Duration
	keepLogs       bool
	identity       bool
	replay         bool
	gomaxprocs     int
}

func main() {
	var o options
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "Fake UTMStack latency per request in the concurrent phase.")
	flag.IntVar(&o.scrapers, "scrapers", 50, "Concurrent scrapers in the concurrent phase (0 skips it).")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "Length of the concurrent phase.")
	flag.IntVar(&o.sequential, "sequential", 10000, "Sequential scrapes in the sequential phase (0 skips it).")
	flag.IntVar(&o.bare, "bare", 2000, "Sequential scrapes with --web.disable-exporter-metrics (0 skips it).")
	flag.IntVar(&o.alerts, "alerts", 2000, "Demo alerts in the fake UTMStack.")
	flag.IntVar(&o.maxConcurrency, "max-concurrency", 4, "The exporter's utmstack.max_concurrency.")
	flag.IntVar(&o.queries, "queries", 0, "0: the built-in query set; n > 0: n queries of 3 calls each.")
	flag.DurationVar(&o.limit, "limit", 115*time.Second, "Hard cap on the whole run, build included.")
	flag.BoolVar(&o.keepLogs, "keep", false, "Keep the temporary directory (binary, config, exporter logs).")
	flag.BoolVar(&o.identity, "no-gzip", false, "Scrape without asking for gzip (Prometheus always asks for it).")
	flag.IntVar(&o.gomaxprocs, "exporter-gomaxprocs", -1, "The exporter's --runtime.gomaxprocs (-1: its default, 1; 0: as Go chooses, the CPUs available). GOMAXPROCS in this environment is not passed on.")
	flag.BoolVar(&o.replay, "replay", true, "Answer repeated values-with-count bodies with the fake's first answer (as OpenSearch's request cache would), so the fake's filter evaluation does not compete with the exporter for the CPU.")
	flag.Parse()
	if o.scrapers < 0 || o.scrapers > 1000 || o.maxConcurrency < 1 || o.maxConcurrency > 64 || o.queries < 0 || o.queries > 100 {
		fmt.Fprintln(os.Stderr, "loadtest: scrapers 0-1000, max-concurrency 1-64, queries 0-100")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	deadline := time.Now().Add(o.limit)
	dir, err := os.MkdirTemp("", "utmstack-loadtest-")
	if err != nil {
		return err
	}
	if o.keepLogs {
		fmt.Fprintln(os.Stderr, "loadtest: files in", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	fmt.Fprintln(os.Stderr, "loadtest: building the exporter")
	bin, err := build(dir, deadline)
	if err != nil {
		return err
	}

	up := newUpstream(o.alerts)
	defer up.close()
	callsPerRound := 6
	if o.queries > 0 {
		callsPerRound = 3 * o.queries
	}
	configPath := filepath.Join(dir, "utmstack.yml")
	if err := os.WriteFile(configPath, []byte(configText(up.url, o)), 0o600); err != nil {
		return err
	}
	waves := (callsPerRound + o.maxConcurrency - 1) / o.maxConcurrency

	machine := describeMachine()
	fmt.Printf("## Load test\n\n")
	procs := "1 (the exporter's default)"
	if o.gomaxprocs == 0 {
		procs = fmt.Sprintf("Go's default (%d)", runtime.NumCPU())
	} else if o.gomaxprocs > 0 {
		procs = strconv.Itoa(o.gomaxprocs)
	}
	fmt.Printf("%s; fake UTMStack with %d demo alerts; %d upstream calls per round, max_concurrency %d (%d waves); exporter GOMAXPROCS %s; gzip %v.\n\n",
		machine, o.alerts, callsPerRound, o.maxConcurrency, waves, procs, !o.identity)

	var results []row
	phases := []func() ([]row, error){
		func() ([]row, error) {
			if o.scrapers == 0 {
				return nil, nil
			}
			return concurrentPhase(o, bin, configPath, dir, up, callsPerRound, waves, deadline)
		},
		func() ([]row, error) {
			if o.sequential == 0 {
				return nil, nil
			}
			// Leave the bare phase its time.
			return sequentialPhase(o, bin, configPath, dir, up, callsPerRound, o.sequential, false, deadline.Add(-10*time.Second))
		},
		func() ([]row, error) {
			if o.bare == 0 {
				return nil, nil
			}
			return sequentialPhase(o, bin, configPath, dir, up, callsPerRound, o.bare, true, deadline)
		},
	}
	var failure error
	for _, phase := range phases {
		r, err := phase()
		results = append(results, r...)
		if err != nil {
			failure = err
			break
		}
	}
	fakeCalls := up.fake.Requests(http.MethodPost, dataPath)
	results = append(results, row{"all", "values-with-count calls: counted at the wrapper; evaluated by the fake (the rest replayed)",
		fmt.Sprintf("%d; %d", up.data.Load(), fakeCalls), "info", "info"})
	bodies, calls := up.distinctBodies()
	results = append(results, row{"all", "distinct values-with-count request bodies", fmt.Sprintf("%d over %d calls", bodies, calls),
		fmt.Sprintf("= %d (calls per round)", callsPerRound), verdict(bodies == callsPerRound)})

	fmt.Println("| phase | measure | measured | budget | met |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %s | %s | %s | %s |\n", r.phase, r.measure, r.value, r.budget, r.met)
	}
	return failure
}

// row is one line of the results table.
type row struct{ phase, measure, value, budget, met string }

func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// build compiles the exporter of the module this command belongs to.
func build(dir string, deadline time.Time) (string, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module: %w", err)
	}
	root := strings.TrimSpace(string(out))
	bin := filepath.Join(dir, "utmstack_exporter")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

func configText(url string, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "utmstack:\n  url: %s\n  max_concurrency: %d\n  auth:\n    username: %s\n", url, o.maxConcurrency, user)
	if o.queries > 0 {
		b.WriteString("queries:\n")
		for i := range o.queries {
			// Distinct windows, so that every call of a round is a distinct body.
			fmt.Fprintf(&b, "  - name: q%02d\n    window: %dh\n    filters:\n      - {field: status, operator: IS, value: %d}\n    by: [severity, country]\n", i, 1+i, 1+i%5)
		}
	}
	return b.String()
}

// upstream is the fake UTMStack with what the exporter does to it observed:
// connections opened, requests in flight, the bodies it sends.
type upstream struct {
	fake   *utmstacktest.Server
	server *httptest.Server
	url    string

	conns       atomic.Int64 // opened
	open        atomic.Int64 // open now
	inflight    atomic.Int64
	maxInflight atomic.Int64
	data        atomic.Int64 // values-with-count requests
	logins      atomic.Int64

	// replay, when set, answers a values-with-count body seen before with
	// the fake's earlier answer, as OpenSearch's request cache would: the
	// fake's filter evaluation then no longer competes with the exporter
	// for the CPU.
	replay  atomic.Bool
	latency atomic.Int64 // time.Duration before every answer

	mu      sync.Mutex
	bodies  map[[32]byte]int
	answers map[[32]byte][]byte
}

func newUpstream(alerts int) *upstream {
	u := &upstream{
		fake: utmstacktest.New(utmstacktest.Options{
			Users:  map[string]string{user: password},
			Alerts: utmstacktest.DemoAlerts(time.Now(), alerts, 1),
		}),
		bodies:  map[[32]byte]int{},
		answers: map[[32]byte][]byte{},
	}
	u.server = httptest.NewUnstartedServer(u)
	u.server.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			u.conns.Add(1)
			u.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			u.open.Add(-1)
		}
	}
	u.server.Start()
	u.url = u.server.URL
	return u
}

func (u *upstream) close() { u.server.Close() }

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == authPath {
		u.logins.Add(1)
	}
	if r.URL.Path != dataPath {
		if !u.wait(r) {
			return
		}
		u.fake.ServeHTTP(w, r)
		return
	}
	u.data.Add(1)
	n := u.inflight.Add(1)
	defer u.inflight.Add(-1)
	for range 100 {
		m := u.maxInflight.Load()
		if n <= m || u.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !u.wait(r) {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	u.mu.Lock()
	u.bodies[sum]++
	answer, cached := u.answers[sum]
	u.mu.Unlock()
	if cached && u.replay.Load() && r.Header.Get("Authorization") != "" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		_, _ = w.Write(answer)
		return
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	u.fake.ServeHTTP(rec, r)
	if rec.status == http.StatusOK && !cached {
		u.mu.Lock()
		u.answers[sum] = rec.body.Bytes()
		u.mu.Unlock()
	}
}

// wait delays the answer by the latency; false when the request ended first.
func (u *upstream) wait(r *http.Request) bool {
	d := time.Duration(u.latency.Load())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// recorder passes an answer on and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (u *upstream) distinctBodies() (distinct, calls int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, n := range u.bodies {
		calls += n
	}
	return len(u.bodies), calls
}

// counts is what the upstream has seen so far.
type counts struct {
	data, logins, conns int64
}

func (u *upstream) counts() counts {
	return counts{
		data:   u.data.Load(),
		logins: u.logins.Load(),
		conns:  u.conns.Load(),
	}
}

// exporter is the exporter binary running as a child process.
type exporter struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	log  string
}

func startExporter(bin, configPath, dir, name string, gomaxprocs int, deadline time.Time, extra ...string) (*exporter, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := append([]string{"--config.file=" + configPath, "--web.listen-address=" + addr, "--log.level=warn"}, extra...)
	if gomaxprocs >= 0 {
		args = append(args, "--runtime.gomaxprocs="+strconv.Itoa(gomaxprocs))
	}
	cmd := exec.Command(bin, args...)
	// GOMAXPROCS would set the exporter's --runtime.gomaxprocs behind the report's back.
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") }),
		"UTMSTACK_PASSWORD="+password)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &exporter{cmd: cmd, url: "http://" + addr, done: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); close(e.done) }()

	ready := time.Now().Add(20 * time.Second)
	if ready.After(deadline) {
		ready = deadline
	}
	client := &http.Client{Timeout: time.Second}
	for attempt := 0; attempt < 400 && time.Now().Before(ready); attempt++ {
		select {
		case <-e.done:
			return nil, fmt.Errorf("the exporter exited:\n%s", tail(logPath))
		default:
		}
		resp, err := client.Get(e.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.stop()
	return nil, fmt.Errorf("the exporter did not become ready:\n%s", tail(logPath))
}

func (e *exporter) pid() int { return e.cmd.Process.Pid }

func (e *exporter) stop() {
	_ = e.cmd.Process.Kill()
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// procStats reads a process's CPU time (utime+stime) and memory from /proc.
type procStats struct {
	cpu      time.Duration
	hwm, rss int64 // bytes
}

func readProc(pid int) (procStats, error) {
	var s procStats
	cpu, err := procstat.CPUTime(pid)
	if err != nil {
		return s, err
	}
	s.cpu = cpu
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmHWM":
			s.hwm = n << 10
		case "VmRSS":
			s.rss = n << 10
		}
	}
	return s, nil
}

// scraper mimics Prometheus: the Accept, Accept-Encoding and timeout
// headers, one keep-alive connection per scraper. Like Prometheus it takes
// the gzip answer; it decompresses only the scrapes it checks.
type scraper struct {
	client   *http.Client
	url      string
	identity bool
}

func newScraper(url string, conns int, identity bool) *scraper {
	return &scraper{
		client: &http.Client{
			Timeout: 15 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxIdleConns: conns, IdleConnTimeout: time.Minute,
				DisableCompression: true},
		},
		url:      url + "/metrics",
		identity: identity,
	}
}

// scrape returns the latency (until the last byte). With check it also
// decompresses the answer into buf and fails unless utmstack_up is 1.
func (s *scraper) scrape(buf *bytes.Buffer, check bool) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, s.url, nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	if !s.identity {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		return elapsed, err
	}
	if resp.StatusCode != http.StatusOK {
		return elapsed, fmt.Errorf("status %d", resp.StatusCode)
	}
	if !check {
		return elapsed, nil
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			return elapsed, err
		}
		plain, err := io.ReadAll(io.LimitReader(zr, 16<<20))
		if err != nil {
			return elapsed, err
		}
		buf.Reset()
		buf.Write(plain)
	}
	if !bytes.Contains(buf.Bytes(), []byte("\nutmstack_up 1\n")) {
		return elapsed, errors.New("utmstack_up is not 1")
	}
	return elapsed, nil
}

// gauges reads some of the exporter's own metrics. It is a scrape, so it
// runs a round: call it outside the measured windows.
func (s *scraper) gauges(names ...string) (map[string]float64, error) {
	resp, err := s.client.Get(s.url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	return parseGauges(body, names...), nil
}

// parseGauges picks unlabelled samples out of a text exposition.
func parseGauges(body []byte, names ...string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if ok && slices.Contains(names, name) {
			out[name], _ = strconv.ParseFloat(strings.TrimSpace(value), 64)
		}
	}
	return out
}

// runtimeGauges are the Go runtime's metrics the phases compare.
var runtimeGauges = []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_alloc_bytes_total", "go_gc_duration_seconds_count"}

// settle closes the scrapers' idle connections and waits until the
// exporter's goroutine count stops falling (bounded), then reads gauges.
func (s *scraper) settle(names ...string) (map[string]float64, error) {
	s.client.CloseIdleConnections()
	var g map[string]float64
	var err error
	last := math.Inf(1)
	for range 10 {
		time.Sleep(200 * time.Millisecond)
		if g, err = s.gauges(names...); err != nil {
			return nil, err
		}
		s.client.CloseIdleConnections()
		if g["go_goroutines"] >= last {
			break
		}
		last = g["go_goroutines"]
	}
	return g, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
func mib(b int64) string        { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func concurrentPhase(o options, bin, configPath, dir string, up *upstream, callsPerRound, waves int, deadline time.Time) ([]row, error) {
	phase := fmt.Sprintf("concurrent (%d scrapers, L=%v)", o.scrapers, o.latency)
	fmt.Fprintf(os.Stderr, "loadtest: %s for %v\n", phase, o.duration)
	up.latency.Store(int64(o.latency))
	up.replay.Store(o.replay)
	defer up.replay.Store(false)
	cStart := up.counts()
	e, err := startExporter(bin, configPath, dir, "concurrent", o.gomaxprocs, deadline)
	if err != nil {
		return nil, err
	}
	defer e.stop()
	s := newScraper(e.url, o.scrapers, o.identity)

	var buf bytes.Buffer
	first, err := s.scrape(&buf, true) // logs in, then the first round
	if err != nil {
		return nil, fmt.Errorf("concurrent phase: first scrape: %w", err)
	}
	before, err := s.settle("go_goroutines", "go_memstats_heap_inuse_bytes")
	if err != nil {
		return nil, err
	}
	c0, p0 := up.counts(), must(readProc(e.pid()))
	up.maxInflight.Store(0)

	end := time.Now().Add(o.duration)
	if end.After(deadline) {
		end = deadline
	}
	var wg sync.WaitGroup
	latencies := make([][]time.Duration, o.scrapers)
	inside := make([][]time.Duration, o.scrapers) // utmstack_scrape_duration_seconds of checked scrapes
	failures := make([]int, o.scrapers)
	var firstErr atomic.Value
	for i := range o.scrapers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for n := 0; n < 1_000_000 && time.Now().Before(end); n++ {
				check := n%20 == 0
				d, err := s.scrape(&buf, check)
				if err != nil {
					failures[i]++
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				latencies[i] = append(latencies[i], d)
				if check {
					g := parseGauges(buf.Bytes(), "utmstack_scrape_duration_seconds")
					inside[i] = append(inside[i], time.Duration(g["utmstack_scrape_duration_seconds"]*float64(time.Second)))
				}
			}
		}()
	}
	wg.Wait()
	c1, p1 := up.counts(), must(readProc(e.pid()))
	after, err := s.settle("go_goroutines", "go_memstats_heap_inuse_bytes")
	if err != nil {
		return nil, err
	}
	p2 := must(readProc(e.pid()))

	all := slices.Concat(latencies...)
	slices.Sort(all)
	insideAll := slices.Concat(inside...)
	slices.Sort(insideAll)
	failed := 0
	for _, f := range failures {
		failed += f
	}
	scrapes := len(all) + failed
	if scrapes == 0 {
		return nil, errors.New("no scrape finished")
	}
	calls := c1.data - c0.data
	rounds := float64(calls) / float64(callsPerRound)
	floor := time.Duration(waves) * o.latency
	budget := floor + floor/10 + 5*time.Millisecond
	cpu := p1.cpu - p0.cpu
	newConns := c1.conns - c0.conns
	rows := []row{
		{phase, "scrapes (failed)", fmt.Sprintf("%d (%d)", scrapes, failed), "0 failed", verdict(failed == 0)},
		{phase, "first scrape, with login", ms(first), fmt.Sprintf("floor %s (%d waves + login)", ms(time.Duration(waves+1)*o.latency), waves), "info"},
		{phase, "scrape latency p50", ms(percentile(all, 50)), fmt.Sprintf("<= %s (floor %s +10%% +5 ms)", ms(budget), ms(floor)), verdict(percentile(all, 50) <= budget)},
		{phase, "utmstack_scrape_duration_seconds p50 / p99 (round wait, before the exposition; every 20th scrape)", fmt.Sprintf("%s / %s", ms(percentile(insideAll, 50)), ms(percentile(insideAll, 99))), "info", "info"},
		{phase, "scrape latency p90 / p99 / max", fmt.Sprintf("%s / %s / %s", ms(percentile(all, 90)), ms(percentile(all, 99)), ms(all[len(all)-1])), "info", "info"},
		{phase, "rounds; scrapes per round", fmt.Sprintf("%.1f; %.1f", rounds, float64(scrapes)/max(rounds, 1)), fmt.Sprintf("one round serves all %d", o.scrapers), verdict(float64(scrapes)/max(rounds, 1) >= 0.9*float64(o.scrapers))},
		{phase, "upstream calls per scrape", fmt.Sprintf("%.3f", float64(calls)/float64(scrapes)), fmt.Sprintf("%d per round", callsPerRound), verdict(math.Abs(rounds-math.Round(rounds)) < 1e-9)},
		{phase, "upstream calls in flight, max", strconv.FormatInt(up.maxInflight.Load(), 10), fmt.Sprintf("<= max_concurrency %d", o.maxConcurrency), verdict(up.maxInflight.Load() <= int64(o.maxConcurrency))},
		{phase, "logins in steady state", strconv.FormatInt(c1.logins-c0.logins, 10), "0", verdict(c1.logins == c0.logins)},
		{phase, "connections to UTMStack opened: whole life; during the run", fmt.Sprintf("%d; %d (%.2f per 1000 scrapes)", c1.conns-cStart.conns, newConns, 1000*float64(newConns)/float64(scrapes)), fmt.Sprintf("about max_concurrency (%d), not one per scrape", o.maxConcurrency), verdict(c1.conns-cStart.conns <= 2*int64(o.maxConcurrency))},
		{phase, "exporter CPU per scrape", fmt.Sprintf("%.3f ms (%.2f s for %d scrapes)", cpu.Seconds()*1000/float64(scrapes), cpu.Seconds(), scrapes), "< 1 ms", verdict(cpu.Seconds()*1000/float64(scrapes) < 1)},
		{phase, "exporter CPU per round", fmt.Sprintf("%.2f ms", cpu.Seconds()*1000/max(rounds, 1)), "info", "info"},
		{phase, "peak RSS (VmHWM)", mib(p2.hwm), "info (the 30 MiB budget is for sequential scrapes)", "info"},
		{phase, "goroutines before / after (open connections to UTMStack after)", fmt.Sprintf("%.0f / %.0f (%d)", before["go_goroutines"], after["go_goroutines"], up.open.Load()), "no growth", verdict(after["go_goroutines"] <= before["go_goroutines"])},
		{phase, "heap in use before / after", fmt.Sprintf("%s / %s", mib(int64(before["go_memstats_heap_inuse_bytes"])), mib(int64(after["go_memstats_heap_inuse_bytes"]))), "info", "info"},
	}
	if v := firstErr.Load(); v != nil {
		fmt.Fprintln(os.Stderr, "loadtest: first failure:", v)
	}
	return rows, nil
}

func sequentialPhase(o options, bin, configPath, dir string, up *upstream, callsPerRound, n int, bare bool, deadline time.Time) ([]row, error) {
	phase := fmt.Sprintf("sequential (%d scrapes, L=0)", n)
	var extra []string
	name := "sequential"
	if bare {
		phase = fmt.Sprintf("bare: --web.disable-exporter-metrics (%d scrapes)", n)
		extra = []string{"--web.disable-exporter-metrics"}
		name = "bare"
	}
	fmt.Fprintf(os.Stderr, "loadtest: %s\n", phase)
	up.latency.Store(0)
	up.replay.Store(o.replay)
	defer up.replay.Store(false)
	cStart := up.counts()
	e, err := startExporter(bin, configPath, dir, name, o.gomaxprocs, deadline, extra...)
	if err != nil {
		return nil, err
	}
	defer e.stop()
	s := newScraper(e.url, 1, o.identity)
	var buf bytes.Buffer
	if _, err := s.scrape(&buf, true); err != nil {
		return nil, fmt.Errorf("first scrape: %w", err)
	}
	var before map[string]float64
	if !bare {
		if before, err = s.gauges(runtimeGauges...); err != nil {
			return nil, err
		}
	}
	c0, p0 := up.counts(), must(readProc(e.pid()))
	openBefore := up.open.Load()
	latencies := make([]time.Duration, 0, n)
	var heap, goroutines []float64 // sampled from the scrapes' own bodies
	every := max(n/20, 1)
	failed := 0
	start := time.Now()
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		sample := !bare && (i+1)%every == 0
		d, err := s.scrape(&buf, sample || i%20 == 0)
		if err != nil {
			failed++
			continue
		}
		latencies = append(latencies, d)
		if sample {
			g := parseGauges(buf.Bytes(), "go_goroutines", "go_memstats_heap_inuse_bytes")
			heap = append(heap, g["go_memstats_heap_inuse_bytes"])
			goroutines = append(goroutines, g["go_goroutines"])
		}
	}
	wall := time.Since(start)
	c1, p1 := up.counts(), must(readProc(e.pid()))
	scrapes := len(latencies) + failed
	if scrapes == 0 {
		return nil, errors.New("no scrape finished")
	}
	slices.Sort(latencies)
	cpu := p1.cpu - p0.cpu
	calls := c1.data - c0.data
	newConns := c1.conns - c0.conns
	perScrape := cpu.Seconds() * 1000 / float64(scrapes)
	rows := []row{
		{phase, "scrapes (failed); wall time", fmt.Sprintf("%d (%d); %.1f s", scrapes, failed, wall.Seconds()), fmt.Sprintf("%d, 0 failed", n), verdict(failed == 0 && scrapes == n)},
		{phase, "exporter CPU per scrape", fmt.Sprintf("%.3f ms (%.2f s for %d scrapes)", perScrape, cpu.Seconds(), scrapes), "< 1 ms", verdict(perScrape < 1)},
		{phase, "scrape latency p50 / p99", fmt.Sprintf("%s / %s", ms(percentile(latencies, 50)), ms(percentile(latencies, 99))), "info", "info"},
		{phase, "upstream calls per scrape", fmt.Sprintf("%.3f", float64(calls)/float64(scrapes)), strconv.Itoa(callsPerRound), verdict(calls == int64(callsPerRound*scrapes))},
		{phase, "logins in steady state", strconv.FormatInt(c1.logins-c0.logins, 10), "0", verdict(c1.logins == c0.logins)},
		{phase, "connections to UTMStack opened: whole life; during the run", fmt.Sprintf("%d; %d (%.2f per 1000 scrapes)", c1.conns-cStart.conns, newConns, 1000*float64(newConns)/float64(scrapes)), fmt.Sprintf("about max_concurrency (%d), not one per scrape", o.maxConcurrency), verdict(c1.conns-cStart.conns <= 2*int64(o.maxConcurrency))},
	}
	if bare {
		return rows, nil
	}
	after, err := s.settle(runtimeGauges...)
	if err != nil {
		return nil, err
	}
	p2 := must(readProc(e.pid()))
	half := len(heap) / 2
	// The settling reads after the run are scrapes too: at most 10, a
	// rounding error next to n.
	allocPerScrape := (after["go_memstats_alloc_bytes_total"] - before["go_memstats_alloc_bytes_total"]) / float64(scrapes)
	gcPer1000 := 1000 * (after["go_gc_duration_seconds_count"] - before["go_gc_duration_seconds_count"]) / float64(scrapes)
	heapFirst, heapSecond := slices.Max(append([]float64{before["go_memstats_heap_inuse_bytes"]}, heap[:half]...)), slices.Max(append([]float64{0}, heap[half:]...))
	rows = append(rows,
		row{phase, "bytes allocated per scrape; GC cycles per 1000 scrapes", fmt.Sprintf("%.0f KiB; %.0f", allocPerScrape/1024, gcPer1000), "info", "info"},
		row{phase, "peak RSS (VmHWM); RSS at the end", fmt.Sprintf("%s; %s", mib(p2.hwm), mib(p2.rss)), "< 30 MiB", verdict(p2.hwm < 30<<20)},
		row{phase, "goroutines before; sampled min-max; after (open connections to UTMStack: before; after)", fmt.Sprintf("%.0f; %.0f-%.0f; %.0f (%d; %d)", before["go_goroutines"], slices.Min(goroutines), slices.Max(goroutines), after["go_goroutines"], openBefore, up.open.Load()),
			"no growth beyond 2 per open connection", verdict(after["go_goroutines"]-2*float64(up.open.Load()) <= before["go_goroutines"]-2*float64(openBefore))},
		row{phase, "heap in use: peak of 1st half; peak of 2nd half; after", fmt.Sprintf("%s; %s; %s", mib(int64(heapFirst)), mib(int64(heapSecond)), mib(int64(after["go_memstats_heap_inuse_bytes"]))),
			"no growth (2nd half peak <= 1st + 1 MiB)", verdict(heapSecond <= heapFirst+(1<<20))},
	)
	return rows, nil
}

func must(s procStats, err error) procStats {
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: reading /proc:", err)
	}
	return s
}

// describeMachine names what the figures were measured on.
func describeMachine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			load = ", load average " + f[0]
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s%s", runtime.NumCPU(), model, runtime.Version(), load)
}
