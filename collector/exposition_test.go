package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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

func TestScrapesOfOneRoundShareOneGathering(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
	counting := newCountingCollector()
	h.registry.MustRegister(counting)
	const scrapers = 5
	release := h.holdRound(scrapers - 1)
	bodies := make(chan string, scrapers)
	for range scrapers {
		go func() { bodies <- getBody(h.server.URL, "") }()
	}
	release()
	for range scrapers {
		body := <-bodies
		for _, want := range []string{`utmstack_alerts{query="all"} 8`, "test_collections_total 1\n"} {
			if !strings.Contains(body, want) {
				t.Fatalf("a scrape lacks %q:\n%s", want, body)
			}
		}
		if n := strings.Count(body, "\nutmstack_scrape_duration_seconds "); n != 1 {
			t.Fatalf("%d utmstack_scrape_duration_seconds samples in one answer, want 1:\n%s", n, body)
		}
	}
	if n := counting.count.Load(); n != 1 {
		t.Fatalf("%d scrapes of one round gathered the process registry %d times, want once", scrapers, n)
	}

	// The next round is gathered afresh.
	if body := getBody(h.server.URL, ""); !strings.Contains(body, "test_collections_total 2\n") {
		t.Fatalf("the next round's scrape reused the last gathering:\n%s", body)
	}
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
	if n := h.fake.Requests(http.MethodPost, dataPath); n != 6 {
		t.Fatalf("%d upstream calls, want the one round of 6 reused", n)
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
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if got := resp.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", got)
	}
	if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(raw)) {
		t.Fatalf("Content-Length %q for a body of %d bytes", got, len(raw))
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

func TestGzipLeavesErrorsPlain(t *testing.T) {
	g := newGzipAnswers(1)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	g.serve(rec, req, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
	}))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Encoding") != "" ||
		rec.Body.String() != "no configuration loaded\n" {
		t.Fatalf("status %d, Content-Encoding %q, body %q: want the error as written",
			rec.Code, rec.Header().Get("Content-Encoding"), rec.Body.String())
	}
}

func TestGzipGivesUpWhenTheClientLeavesWhileWaitingForAWriter(t *testing.T) {
	g := newGzipAnswers(1)
	busy := <-g.writers // the only writer is in use
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil).WithContext(ctx)
	req.Header.Set("Accept-Encoding", "gzip")
	g.serve(rec, req, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "a 1\n") }))
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Encoding") != "" {
		t.Fatalf("an answer was sent to a client that left: %q", rec.Body.String())
	}
	g.writers <- busy
	if len(g.writers) != 1 {
		t.Fatal("a writer was lost")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"identity"}, false},
		{[]string{"deflate, GZIP;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.0"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"*", "gzip;q=0"}, false}, // the explicit entry wins
		{[]string{"br", "x-gzip"}, true},
		{[]string{"gzip;q=bogus"}, true}, // an unreadable q is ignored
	} {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestMergeFamilies(t *testing.T) {
	fam := func(name string) *dto.MetricFamily { return &dto.MetricFamily{Name: &name} }
	names := func(mfs []*dto.MetricFamily) string {
		var out []string
		for _, mf := range mfs {
			out = append(out, mf.GetName())
		}
		return strings.Join(out, " ")
	}
	merged, err := mergeFamilies([]*dto.MetricFamily{fam("a"), fam("c"), fam("e")}, []*dto.MetricFamily{fam("b"), fam("d"), fam("f"), fam("g")})
	if err != nil || names(merged) != "a b c d e f g" {
		t.Fatalf("merged %q, err %v", names(merged), err)
	}
	merged, err = mergeFamilies([]*dto.MetricFamily{fam("a"), fam("b")}, []*dto.MetricFamily{fam("b")})
	if names(merged) != "a b" || err == nil || !strings.Contains(err.Error(), "metric family b is exported twice") {
		t.Fatalf("merged %q, err %v: want b once and an error naming it", names(merged), err)
	}
	if got := names(withFamily([]*dto.MetricFamily{fam("a"), fam("c")}, fam("b"))); got != "a b c" {
		t.Fatalf("withFamily: %q", got)
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
	defer resp.Body.Close()
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

// Scrapes that share a round's families encode them at the same moment, in
// whatever format each negotiated, some filtered with name[]. Under -race
// this shows the shared families are only read.
func TestSharedFamiliesServeEveryFormatAtOnce(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
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
	release := h.holdRound(scrapers - 1)
	answers := make(chan answer, scrapers)
	for i := range scrapers {
		go func() {
			a := answer{accept: accepts[i%len(accepts)], filtered: i >= len(accepts)}
			url := h.server.URL
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
				resp.Body.Close()
				a.body = string(b)
				if resp.StatusCode != http.StatusOK {
					a.err = fmt.Errorf("HTTP %d", resp.StatusCode)
				}
			}
			answers <- a
		}()
	}
	release()
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
