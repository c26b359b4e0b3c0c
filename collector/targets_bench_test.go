package collector

// What each /probe target costs in memory, and a probe among many targets.
//
//	go test ./collector/ -run '^$' -bench ProbeThousandTargets -benchtime 1000x \
//	    -memprofilerate 512 -targets.heapprofile heap.out
//	go tool pprof -sample_index inuse_space -top collector.test heap.out

import (
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utmstack/utmstack_exporter/config"
)

var targetsHeapProfile = flag.String("targets.heapprofile", "",
	"BenchmarkProbeThousandTargets writes a heap profile of the probed targets here (the sub-benchmark's name is added)")

// BenchmarkProbeThousandTargets applies 1000 targets on one stub UTMStack,
// over plain HTTP, TLS and HTTP/2, probes each once (50 at a time, as many
// probing clients would) and reports the live heap per target: once
// configured, and once probed, with what the round and its kept connection
// leave behind. The upstream server runs in this process, so the probed
// figure includes its side of each connection (over HTTP about 9 KB: a conn
// and its two 4 KB buffers). Each op is then one probe of the next target.
func BenchmarkProbeThousandTargets(b *testing.B) {
	b.Run("http", func(b *testing.B) { benchProbeTargets(b, "http") })
	b.Run("https", func(b *testing.B) { benchProbeTargets(b, "https") })
	b.Run("h2", func(b *testing.B) { benchProbeTargets(b, "h2") })
}

// benchProbeTargets serves the upstream as scheme says: http, https
// (HTTP/1.1 only, as UTMStack's nginx) or h2 (HTTPS offering HTTP/2).
func benchProbeTargets(b *testing.B, scheme string) {
	const targets, probers = 1000, 50
	upstream := httptest.NewUnstartedServer(newBenchStub(30))
	var mu sync.Mutex
	open, closed := 0, make(chan struct{}, 100*targets)
	upstream.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open++
		case http.StateClosed, http.StateHijacked:
			open--
			closed <- struct{}{}
		}
	}
	tlsConfig := ""
	if scheme != "http" {
		upstream.Config.ErrorLog = log.New(io.Discard, "", 0)
		upstream.EnableHTTP2 = scheme == "h2"
		upstream.StartTLS()
		ca := filepath.Join(b.TempDir(), "ca.crt")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: upstream.Certificate().Raw}), 0o600); err != nil {
			b.Fatal(err)
		}
		tlsConfig = "    tls_config: {ca_file: " + ca + "}\n"
	} else {
		upstream.Start()
	}
	b.Cleanup(upstream.Close)
	openConns := func() int {
		mu.Lock()
		defer mu.Unlock()
		return open
	}

	var text strings.Builder
	fmt.Fprintf(&text, "utmstack:\n  url: %s\n  auth:\n    username: %s\n%stargets:\n", upstream.URL, testUser, strings.TrimPrefix(tlsConfig, "  "))
	for i := range targets {
		fmt.Fprintf(&text, "  t%04d:\n    url: %s\n    auth: {username: %s, password: %s}\n%s", i, upstream.URL, testUser, testPassword, tlsConfig)
	}
	cfg, err := config.Parse([]byte(text.String()), "bench.yml", func(k string) (string, bool) { return testPassword, k == "UTMSTACK_PASSWORD" })
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{Metrics: NewProcessMetrics(prometheus.NewRegistry())})
	handler := e.ProbeHandler()
	probe := func(i int) {
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/probe?target=t%04d", i%targets), nil)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), "\nutmstack_up 1\n") {
			b.Fatalf("probe of t%04d: HTTP %d without utmstack_up 1:\n%s", i%targets, rec.Code, rec.Body)
		}
	}
	heap := func() float64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return float64(m.HeapInuse)
	}

	base := heap()
	if err := e.Apply(cfg); err != nil {
		b.Fatal(err)
	}
	configured := heap()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range probers {
		wg.Go(func() {
			for i := range jobs {
				probe(i)
			}
		})
	}
	for i := range targets {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	// Until the upstream has seen the connections beyond the kept ones close.
	deadline := time.After(30 * time.Second)
	for openConns() > targets {
		select {
		case <-closed:
		case <-deadline:
			b.Fatalf("%d upstream connections open 30 s after the probes, want %d", openConns(), targets)
		}
	}
	probed := heap()
	if *targetsHeapProfile != "" {
		writeHeapProfile(b, *targetsHeapProfile+"."+strings.ReplaceAll(b.Name(), "/", "."))
	}

	i := 0
	for b.Loop() {
		probe(i)
		i++
	}
	// After the loop: b.Loop's start resets the reported metrics.
	b.ReportMetric((configured-base)/targets, "heap-B/target-configured")
	b.ReportMetric((probed-base)/targets, "heap-B/target-probed")
	none := *cfg
	none.Targets = nil
	if err := e.Apply(&none); err != nil { // closes every target's client
		b.Fatal(err)
	}
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}
