// Command floor measures the least CPU a scrape of the exporter's shape can
// cost in Go on this machine: a server (GOMAXPROCS 1) that, per request, makes
// the built-in set's 6 upstream calls over loopback keep-alive connections
// (4, then 2, at once, as max_concurrency 4 makes them) and answers with a
// gzipped body of the exporter's size. It does nothing else: no login, no
// JSON, no metrics. What the exporter costs above this is its own work.
//
// It runs itself as the server (-serve) in a child process, with the upstream
// stub in this process, scrapes it -scrapes times one after the other, and
// prints the child's utime+stime per scrape. Loopback only; every loop is
// bounded. See BENCHMARKS.md, "What the fourth round measured".
//
//	go run ./tools/floor -gzip each
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/utmstack/utmstack_exporter/internal/procstat"
)

func main() {
	serve := flag.Bool("serve", false, "Run as the measured server (the child).")
	upstream := flag.String("upstream", "", "With -serve: the stub's URL.")
	mode := flag.String("gzip", "each", "each: gzip the body on every request, as the exporter does; once: send one body gzipped at start.")
	scrapes := flag.Int("scrapes", 3000, "Sequential scrapes to measure.")
	flag.Parse()
	if *mode != "each" && *mode != "once" {
		fmt.Fprintf(os.Stderr, "floor: -gzip is %q; want each or once\n", *mode)
		os.Exit(2)
	}
	var err error
	if *serve {
		err = runServer(*upstream, *mode == "each")
	} else {
		err = drive(*mode, *scrapes)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// exposition is text of the exporter's answer size (15.8 KB) and shape.
func exposition() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 15800; i++ {
		fmt.Fprintf(&b, "# HELP floor_metric_%d A metric of the floor's answer.\n# TYPE floor_metric_%d gauge\n", i, i)
		for j := range 4 {
			fmt.Fprintf(&b, "floor_metric_%d{query=\"all\",country=\"C%d\"} %d\n", i, j, i*j*37)
		}
	}
	return b.Bytes()
}

func runServer(upstream string, gzipEach bool) error {
	runtime.GOMAXPROCS(1)
	plain := exposition()
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // the level is valid
	var once bytes.Buffer
	gz.Reset(&once)
	gz.Write(plain)
	gz.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 5 * time.Second}
	request := bytes.Repeat([]byte("x"), 300) // about a values-with-count body
	call := func() error {
		resp, err := client.Post(upstream, "application/json", bytes.NewReader(request))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	var mu sync.Mutex // guards gz and out
	var out bytes.Buffer
	http.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		for _, wave := range []int{4, 2} {
			errs := make([]error, wave)
			var wg sync.WaitGroup
			for i := range wave {
				wg.Go(func() { errs[i] = call() })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		body := once.Bytes()
		if gzipEach {
			out.Reset()
			gz.Reset(&out)
			gz.Write(plain)
			gz.Close()
			body = out.Bytes()
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr()) // the driver reads this line
	return http.Serve(ln, nil)
}

func drive(mode string, scrapes int) error {
	answer := bytes.Repeat([]byte(`{"key":1},`), 100) // about a values-with-count answer
	stub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(stub, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))

	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "-serve", "-gzip", mode, "-upstream", "http://"+stub.Addr().String()+"/values-with-count")
	child.Stderr = os.Stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer child.Process.Kill()
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a + "/metrics"
	case <-time.After(10 * time.Second):
		return errors.New("the server did not start within 10 s")
	}

	client := &http.Client{Timeout: 5 * time.Second}
	scrape := func() error {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept-Encoding", "gzip") // set by hand: the body stays compressed
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("scrape: %s", resp.Status)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	for range 100 { // warm-up: connections, stacks, heap
		if err := scrape(); err != nil {
			return err
		}
	}
	before, err := procstat.CPUTime(child.Process.Pid)
	if err != nil {
		return err
	}
	start := time.Now()
	for range scrapes {
		if err := scrape(); err != nil {
			return err
		}
	}
	wall := time.Since(start)
	after, err := procstat.CPUTime(child.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("floor (gzip %s, GOMAXPROCS 1, %d sequential scrapes): %.3f ms CPU per scrape, %.3f ms wall\n",
		mode, scrapes, float64((after-before).Microseconds())/1000/float64(scrapes), float64(wall.Microseconds())/1000/float64(scrapes))
	return nil
}
