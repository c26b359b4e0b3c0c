package collector

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
)

// countingCollector counts how often it is collected, as the Go and process
// collectors would be.
type countingCollector struct {
	desc  *prometheus.Desc
	count atomic.Int64
}

func newCountingCollector() *countingCollector {
	return &countingCollector{desc: prometheus.NewDesc("test_collections_total", "Times collected.", nil, nil)}
}

func (c *countingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countingCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(c.count.Add(1)))
}

func TestMinIntervalReuseGathersTheProcessMetricsAfresh(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  min_interval: 30s\n")
	counting := newCountingCollector()
	h.registry.MustRegister(counting)
	for i := 1; i <= 3; i++ {
		body := getBody(h.server.URL, "")
		if want := "test_collections_total " + strconv.Itoa(i) + "\n"; !strings.Contains(body, want) {
			t.Fatalf("scrape %d lacks %q:\n%s", i, want, body)
		}
		h.clock.Advance(time.Second)
	}
	if n := h.fake.Requests(http.MethodPost, dataPath); n != 9 {
		t.Fatalf("%d values-with-count calls, want the one round's 9 reused", n)
	}
}

func TestAnswersAreZstdCompressedWhenAsked(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  min_interval: 1h\n") // both scrapes see one round
	plain := withoutScrapeDuration(getBody(h.server.URL, "identity"))
	req, _ := http.NewRequest(http.MethodGet, h.server.URL, nil)
	req.Header.Set("Accept-Encoding", "zstd")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if got := resp.Header.Get("Content-Encoding"); got != "zstd" {
		t.Fatalf("Content-Encoding %q, want zstd", got)
	}
	zr, err := zstd.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := withoutScrapeDuration(string(unzipped)); got != plain {
		t.Fatalf("the zstd answer differs from the plain one:\n%s\nplain:\n%s", got, plain)
	}
}

func TestAnswersAreGzippedWhenAsked(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  min_interval: 1h\n") // both scrapes see one round
	plain := withoutScrapeDuration(getBody(h.server.URL, "identity"))
	req, _ := http.NewRequest(http.MethodGet, h.server.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}} // see the bytes as sent
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	if got := resp.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", got)
	}
	if vary := strings.Join(resp.Header.Values("Vary"), ","); !strings.Contains(vary, "Accept-Encoding") {
		t.Fatalf("Vary %q lacks Accept-Encoding", vary)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := withoutScrapeDuration(string(unzipped)); got != plain {
		t.Fatalf("the gzipped answer differs from the plain one:\n%s\nplain:\n%s", got, plain)
	}
	if len(raw)*3 > len(unzipped) {
		t.Fatalf("gzip made %d bytes of %d: less than 3x smaller", len(raw), len(unzipped))
	}
}

// getBody scrapes url, asking for the given Accept-Encoding ("" leaves it to
// net/http, which asks for gzip and decompresses), and returns the body or
// the error's text.
func getBody(url, encoding string) string {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// withoutScrapeDuration drops the one line that differs between two scrapes
// of the same round.
func withoutScrapeDuration(body string) string {
	var keep []string
	for line := range strings.SplitSeq(body, "\n") {
		if !strings.HasPrefix(line, "utmstack_scrape_duration_seconds ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// Scrapes that share a round encode its result at the same moment, in
// whatever format each negotiated, some filtered with name[]. Under -race
// this shows the shared result is only read.
func TestSharedRoundServesEveryFormatAtOnce(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  min_interval: 1m\n")
	accepts := []string{
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		"application/openmetrics-text;version=1.0.0;escaping=underscores",
		"application/openmetrics-text;version=1.0.0;escaping=dots",
		"text/plain;version=0.0.4",
		"text/plain;version=1.0.0;escaping=allow-utf-8",
	}
	type answer struct {
		accept, body string
		filtered     bool
		err          error
	}
	scrapers := 2 * len(accepts)
	shared := heldRound(t, h.fake, scrapers, h.exporter)
	answers := make(chan answer, scrapers)
	for i := range scrapers {
		go func() {
			a := answer{accept: accepts[i%len(accepts)], filtered: i >= len(accepts)}
			url := shared
			if a.filtered {
				url += "?name[]=utmstack_up"
			}
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Accept", a.accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				a.err = err
			} else {
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				a.body = string(b)
				if resp.StatusCode != http.StatusOK {
					a.err = fmt.Errorf("HTTP %d", resp.StatusCode)
				}
			}
			answers <- a
		}()
	}
	for range scrapers {
		a := <-answers
		switch {
		case a.err != nil:
			t.Errorf("%s: %v", a.accept, a.err)
		case !strings.Contains(a.body, "utmstack_up"):
			t.Errorf("%s (filtered %v): no utmstack_up in the answer", a.accept, a.filtered)
		case a.filtered == strings.Contains(a.body, "utmstack_alerts"):
			t.Errorf("%s (filtered %v): utmstack_alerts present: %v", a.accept, a.filtered, !a.filtered)
		}
	}
}
