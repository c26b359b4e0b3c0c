package main

import (
	"bytes"
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
	"sync"
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
	cmd         *exec.Cmd
	proc        procfs.Proc
	url, config string
	done        chan struct{}
}

var runs atomic.Int64 // numbers each run's configuration file

func startExporter(o options, bin, config string) (*exporter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	e := &exporter{url: "http://" + addr, config: filepath.Join(o.dir, fmt.Sprintf("run%03d.yml", runs.Add(1))), done: make(chan struct{})}
	if err := os.WriteFile(e.config, []byte(config), 0o600); err != nil {
		return nil, err
	}
	e.cmd = exec.Command(bin, append([]string{"--config.file=" + e.config, "--web.listen-address=" + addr, "--log.level=warn"}, o.args...)...)
	// This environment's GOMAXPROCS would override the exporter's own default.
	e.cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") }),
		"UTMSTACK_PASSWORD="+password)
	e.cmd.Stderr = os.Stderr
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = e.cmd.Wait(); close(e.done) }()
	e.proc, err = procfs.NewProc(e.cmd.Process.Pid)
	client := &http.Client{Timeout: time.Second}
	for try := 1; err == nil; try++ { // until /-/ready answers 200: at most 400 tries, 50 ms apart
		if resp, err := client.Get(e.url + "/-/ready"); err == nil {
			if _ = resp.Body.Close(); resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
		select {
		case <-e.done:
			err = errors.New("the exporter exited")
		case <-time.After(50 * time.Millisecond):
			if try == 400 || time.Now().After(o.deadline) {
				err = errors.New("the exporter did not become ready")
			}
		}
	}
	e.stop()
	return nil, err
}

// stop sends SIGTERM, SIGKILL after 5 s, and waits for the exit.
func (e *exporter) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

// cpu is the exporter's user and system time so far, in seconds, read live
// so that a phase leaves out the start and the first scrape's login.
func (e *exporter) cpu() float64 {
	st, err := e.proc.Stat()
	if err != nil {
		return math.NaN()
	}
	return st.CPUTime()
}

// status is /proc/<pid>/status. Its VmHWM is the peak RSS, which the Maxrss
// of wait4 is not: os/exec starts children with vfork, and exec keeps this
// process's peak as the child's.
func (e *exporter) status() procfs.ProcStatus {
	st, _ := e.proc.NewStatus()
	return st
}

// scraper scrapes like Prometheus: the text format, the scrape timeout
// header, gzip (the transport asks for it and inflates the answer),
// keep-alive connections.
type scraper struct{ *http.Client }

func newScraper(conns int) scraper {
	return scraper{&http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}}
}

// get returns the answer and the time to its last byte; an answer without
// utmstack_up 1 is an error.
func (s scraper) get(url string) ([]byte, time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	start := time.Now()
	resp, err := s.Do(req)
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

var firstFailure sync.Once

// logFailure prints the first failed scrape or probe: the tables count
// failures, this says why.
func logFailure(err error) {
	firstFailure.Do(func() { fmt.Fprintln(os.Stderr, "loadtest: first failure:", err) })
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
