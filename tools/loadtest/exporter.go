package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/procfs"
)

// exporter is one exporter binary running as a child process; its log
// (warnings and errors) goes to this command's stderr.
type exporter struct {
	proc        procfs.Proc
	url, config string
	stop        func() // SIGTERM, SIGKILL after 5 s, and the exit
}

var runs atomic.Int64 // numbers each run's configuration file

func startExporter(o options, bin, config string) (*exporter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	e := &exporter{url: "http://" + addr, config: filepath.Join(o.dir, fmt.Sprintf("run%03d.yml", runs.Add(1)))}
	if err := os.WriteFile(e.config, []byte(config), 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+e.config, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Cancel, cmd.WaitDelay = func() error { return cmd.Process.Signal(syscall.SIGTERM) }, 5*time.Second
	// This environment's GOMAXPROCS would override the exporter's own default.
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") }),
		"UTMSTACK_PASSWORD="+password)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	e.stop = func() { cancel(); <-done }
	if e.proc, err = procfs.NewProc(cmd.Process.Pid); err != nil {
		e.stop()
		return nil, err
	}
	client := &http.Client{Timeout: time.Second}
	for try := 0; try < 400 && time.Now().Before(o.deadline); try++ { // until /-/ready answers 200, 50 ms apart
		if resp, err := client.Get(e.url + "/-/ready"); err == nil {
			if _ = resp.Body.Close(); resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
		select {
		case <-done:
			cancel()
			return nil, errors.New("the exporter exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
	e.stop()
	return nil, errors.New("the exporter did not become ready")
}

// cpu is the exporter's user and system time so far, in seconds, read
// while it runs so that a phase leaves out the start and the first login.
func (e *exporter) cpu() float64 {
	if st, err := e.proc.Stat(); err == nil {
		return st.CPUTime()
	}
	return math.NaN()
}

// status is /proc/<pid>/status, read while the exporter runs. Its VmHWM is
// the peak RSS; wait4's Maxrss is not: os/exec starts children with vfork,
// and exec keeps this process's peak as the child's.
func (e *exporter) status() procfs.ProcStatus {
	st, _ := e.proc.NewStatus()
	return st
}

// newClient scrapes like Prometheus over up to conns keep-alive
// connections; gzip is asked for and inflated by the transport.
func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
}

// scrape returns the answer and the time to its last byte; an answer
// without utmstack_up 1 is an error.
func scrape(c *http.Client, url string) ([]byte, time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	took := time.Since(start)
	_ = resp.Body.Close()
	if err == nil && (resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("\nutmstack_up 1\n"))) {
		err = fmt.Errorf("%s, want 200 with utmstack_up 1: %.200s", resp.Status, body)
	}
	return body, took, err
}

// logFailure prints the first of a run's failures: the table counts them,
// this says why.
func logFailure(err error, nth int64) {
	if nth == 1 {
		fmt.Fprintln(os.Stderr, "loadtest: first failure:", err)
	}
}

// gauges reads unlabelled gauges from a text exposition; NaN when absent.
func gauges(body []byte, names ...string) []float64 {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, _ := p.TextToMetricFamilies(bytes.NewReader(body))
	out := make([]float64, len(names))
	for i, name := range names {
		out[i] = math.NaN()
		if mf := mfs[name]; mf != nil && len(mf.Metric) == 1 && mf.Metric[0].Gauge != nil {
			out[i] = mf.Metric[0].Gauge.GetValue()
		}
	}
	return out
}
