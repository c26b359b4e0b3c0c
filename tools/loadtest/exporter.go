package main

import (
	"bytes"
	"context"
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
	proc   procfs.Proc
	url    string
	config string // its configuration file
	stop   func() // SIGTERM, SIGKILL 5 s later, and the exit
}

func startExporter(o options, bin, config string) (*exporter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	e := &exporter{url: "http://" + addr, config: filepath.Join(o.dir, "exporter-"+addr+".yml")}
	if err := os.WriteFile(e.config, []byte(config), 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+e.config, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	// This environment's GOMAXPROCS would override the exporter's own default.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") })
	cmd.Env = append(cmd.Env, "UTMSTACK_PASSWORD="+password)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	e.stop = func() {
		cancel()
		_ = cmd.Wait()
	}
	if e.proc, err = procfs.NewProc(cmd.Process.Pid); err != nil {
		e.stop()
		return nil, err
	}
	for range 400 { // until /-/ready answers 200, for up to 20 s
		time.Sleep(50 * time.Millisecond)
		if resp, err := http.Get(e.url + "/-/ready"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
	}
	e.stop()
	return nil, fmt.Errorf("%s was not ready within 20 s", bin)
}

// cpu is the exporter's user and system time so far, in seconds, read
// while it runs so that a phase leaves out the start and the first login.
func (e *exporter) cpu() float64 {
	st, err := e.proc.Stat()
	if err != nil {
		return math.NaN()
	}
	return st.CPUTime()
}

// peakRSS is VmHWM from /proc/<pid>/status in MiB, read while the exporter
// runs. wait4's Maxrss is not the child's peak: os/exec starts children
// with vfork, and exec keeps this process's peak as the child's.
func (e *exporter) peakRSS() float64 {
	st, _ := e.proc.NewStatus()
	return float64(st.VmHWM) / (1 << 20)
}

// newClient scrapes like Prometheus over up to conns keep-alive
// connections; gzip is asked for and inflated by the transport.
func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
}

// scrape returns the answer and the time to its last byte in ms; an answer
// without utmstack_up 1 is an error.
func scrape(c *http.Client, url string) ([]byte, float64, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	took := ms(time.Since(start))
	_ = resp.Body.Close()
	if err == nil && (resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("\nutmstack_up 1\n"))) {
		err = fmt.Errorf("%s, want 200 with utmstack_up 1: %.200s", resp.Status, body)
	}
	return body, took, err
}

// failure counts a failed scrape and prints the first: the table counts
// them, this says why.
func failure(failed *atomic.Int64, err error) {
	if failed.Add(1) == 1 {
		fmt.Fprintln(os.Stderr, "loadtest: first failure:", err)
	}
}

// gauge reads an unlabelled gauge from a text exposition; NaN when absent.
func gauge(body []byte, name string) float64 {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, _ := parser.TextToMetricFamilies(bytes.NewReader(body))
	if mf := mfs[name]; mf != nil && len(mf.Metric) == 1 && mf.Metric[0].Gauge != nil {
		return mf.Metric[0].Gauge.GetValue()
	}
	return math.NaN()
}
