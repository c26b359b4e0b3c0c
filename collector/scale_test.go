package collector

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/round"
	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// Many targets on one exporter: what each holds, and what a reload keeps
// or frees.

// countedUpstream is a fake UTMStack whose server counts the connections
// open to it.
type countedUpstream struct {
	fake   *utmstacktest.Server
	server *httptest.Server
	closed chan struct{} // one value per connection closed

	mu   sync.Mutex
	open map[net.Conn]bool
}

func newCountedUpstream(t *testing.T) *countedUpstream {
	t.Helper()
	u := &countedUpstream{
		fake:   utmstacktest.New(utmstacktest.Options{Clock: utmstacktest.NewClock(epoch), Users: map[string]string{testUser: testPassword}, Alerts: knownAlerts()}),
		closed: make(chan struct{}, 10000),
		open:   map[net.Conn]bool{},
	}
	u.server = httptest.NewUnstartedServer(u.fake)
	u.server.Config.ConnState = func(c net.Conn, s http.ConnState) {
		u.mu.Lock()
		defer u.mu.Unlock()
		switch s {
		case http.StateNew:
			u.open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(u.open, c)
			u.closed <- struct{}{}
		}
	}
	u.server.Start()
	t.Cleanup(u.server.Close)
	return u
}

func (u *countedUpstream) openConns() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.open)
}

// waitOpen waits, bounded, until at most n connections are open.
func (u *countedUpstream) waitOpen(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for u.openConns() > n {
		select {
		case <-u.closed:
		case <-deadline:
			t.Fatalf("%d connections to UTMStack still open after 10 s, want at most %d", u.openConns(), n)
		}
	}
}

// targetsConfig names n targets t0000… on url, after the harness's own
// utmstack block.
func targetsConfig(url string, n int) string {
	var b strings.Builder
	b.WriteString("targets:\n")
	for i := range n {
		fmt.Fprintf(&b, "  t%04d:\n    url: %s\n    auth: {username: %s, password: %s}\n", i, url, testUser, testPassword)
	}
	return b.String()
}

// probeAll probes targets t0000… t<n-1> once each, n at a time, over
// connections it closes afterwards.
func probeAll(t *testing.T, probeURL string, n int) {
	t.Helper()
	transport := &http.Transport{MaxIdleConnsPerHost: n}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := client.Get(fmt.Sprintf("%s?target=t%04d", probeURL, i)) // /metrics ignores it
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if !strings.Contains(string(body), "\nutmstack_up 1\n") {
				t.Errorf("probe of t%04d: HTTP %d without utmstack_up 1:\n%s", i, resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
}

func TestEachTargetKeepsOneConnectionAfterItsRound(t *testing.T) {
	up := newCountedUpstream(t)
	const targets = 8
	h := newHarness(t, knownAlerts(), targetsConfig(up.server.URL, targets))
	probe := httptest.NewServer(h.exporter.ProbeHandler())
	t.Cleanup(probe.Close)

	// The built-in queries make several calls at once (max_concurrency 4).
	probeAll(t, probe.URL, targets)
	up.waitOpen(t, targets)
	if open := up.openConns(); open != targets {
		t.Fatalf("%d connections open after one probe of each of %d targets, want one each", open, targets)
	}
}

func TestRemovedTargetsFreeTheirConnectionsAndGoroutines(t *testing.T) {
	up := newCountedUpstream(t)
	h := newHarness(t, knownAlerts(), "")
	probe := httptest.NewServer(h.exporter.ProbeHandler())
	t.Cleanup(probe.Close)
	probeAll(t, h.server.URL+"/metrics", 1) // /metrics' own client and connections are in the baseline
	baseline := settledGoroutines(0, 0)

	const targets = 20
	if err := h.exporter.Apply(h.config(t, targetsConfig(up.server.URL, targets), testPassword)); err != nil {
		t.Fatal(err)
	}
	probeAll(t, probe.URL, targets)
	if open := up.openConns(); open < targets {
		t.Fatalf("%d connections open after probing %d targets, want at least one each", open, targets)
	}

	// A reload that drops every target.
	if err := h.exporter.Apply(h.config(t, "", testPassword)); err != nil {
		t.Fatal(err)
	}
	up.waitOpen(t, 0)
	// Each idle HTTP/1.1 connection holds two goroutines; none may stay.
	if after := settledGoroutines(baseline, 10*time.Second); after > baseline {
		t.Fatalf("%d goroutines after removing %d probed targets, %d before they were added", after, targets, baseline)
	}
	resp, err := http.Get(probe.URL + "?target=t0000")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a removed target is answered HTTP %d, want 400", resp.StatusCode)
	}
}

// TestReloadOfAThousandTargetsKeepsEveryClient applies a configuration of
// 1000 targets twice, nothing changed, as SIGHUP does: every client (and
// so its token) is kept, and the probed targets log in no more. The time
// of the reload is logged (BENCHMARKS.md); asserting it would make the
// test depend on the machine.
func TestReloadOfAThousandTargetsKeepsEveryClient(t *testing.T) {
	up := newCountedUpstream(t)
	h := newHarness(t, knownAlerts(), targetsConfig(up.server.URL, 1000))
	probe := httptest.NewServer(h.exporter.ProbeHandler())
	t.Cleanup(probe.Close)
	const probed = 20 // t0000…t0019, enough to see a login
	probeAll(t, probe.URL, probed)
	logins := up.fake.Requests(http.MethodPost, loginPath)
	if logins != probed {
		t.Fatalf("%d logins for %d probed targets, want one each", logins, probed)
	}
	before := h.exporter.probes
	var built atomic.Int64
	h.exporter.env.NewClient = func(opts utmstack.Options) (round.Client, error) {
		built.Add(1)
		return nil, errors.New("a reload that changed nothing built a client")
	}

	cfg := h.config(t, targetsConfig(up.server.URL, 1000)+"# reloaded, nothing changed\n", testPassword)
	start := time.Now()
	if err := h.exporter.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	t.Logf("Apply of 1000 unchanged targets: %v", time.Since(start))

	if n := built.Load(); n != 0 {
		t.Fatalf("%d new clients after a reload that changed nothing", n)
	}
	for name, old := range before {
		if now := h.exporter.probes[name]; now == nil || now.inst != old.inst {
			t.Fatalf("target %s has a new instance after a reload that changed nothing", name)
		}
	}
	probeAll(t, probe.URL, probed)
	if again := up.fake.Requests(http.MethodPost, loginPath); again != logins {
		t.Fatalf("%d logins after the reload, want none", again-logins)
	}
}

// BenchmarkReloadThousandTargets is the Apply of a reload of 1000 targets
// of which none changed.
func BenchmarkReloadThousandTargets(b *testing.B) {
	text := fmt.Sprintf("utmstack:\n  url: http://127.0.0.1:1\n  auth: {username: %s, password: %s}\n", testUser, testPassword) + targetsConfig("http://127.0.0.1:1", 1000)
	parse := func() *config.Config {
		cfg, err := config.Parse([]byte(text), "bench.yml", nil)
		if err != nil {
			b.Fatal(err)
		}
		return cfg
	}
	e := New(Options{Metrics: NewProcessMetrics(prometheus.NewRegistry())})
	if err := e.Apply(parse()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Apply(parse()) })
	for b.Loop() {
		b.StopTimer()
		cfg := parse()
		b.StartTimer()
		if err := e.Apply(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
