package collector

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// asyncScrape scrapes /metrics in a goroutine with the given scrape timeout
// header; the body (or the error) arrives on the channel.
func asyncScrape(url, timeoutHeader string) <-chan string {
	out := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, url+"/metrics", nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeoutHeader)
		resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		out <- string(body)
	}()
	return out
}

// A scrape with a short timeout must not cut the round short for a scrape
// that joined it with a longer one (a curl with a tiny timeout beside
// Prometheus, or two Prometheus servers with different scrape timeouts).
func TestShortDeadlineDoesNotCutAJoinedRound(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  timeout: 1h\n")
	h.exporter.opts.TimeoutOffset = 500 * time.Millisecond
	// Log in first, so that the held round is only data calls.
	h.scrape(t, "# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.\n# TYPE utmstack_up gauge\nutmstack_up 1\n", "utmstack_up")
	before := h.fake.Requests(http.MethodPost, dataPath)

	held := make(chan struct{})
	entered := make(chan struct{}, 16)
	cancelled := make(chan struct{}, 16)
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != dataPath {
			return false
		}
		entered <- struct{}{}
		select {
		case <-held:
			return false // answer normally
		case <-r.Context().Done():
			cancelled <- struct{}{}
			return true
		case <-time.After(time.Minute): // a bound that fails the test below, not a wait
			return true
		}
	})
	joined := make(chan struct{}, 1)
	h.exporter.current().onShare = func() { joined <- struct{}{} }

	short := asyncScrape(h.server.URL, "2.5") // 2 s after the offset
	<-entered                                 // its round is in flight
	long := asyncScrape(h.server.URL, "60")
	<-joined

	if body := <-short; !strings.Contains(body, "utmstack_up 0") || strings.Contains(body, "utmstack_alerts{") {
		t.Fatalf("the short scrape, past its deadline, got:\n%s", body)
	}
	select {
	case body := <-long:
		t.Fatalf("the long scrape answered when the short one's deadline passed:\n%s", body)
	case <-cancelled:
		t.Fatal("the short scrape's deadline cancelled the calls of a round another scrape waits for")
	default:
	}
	close(held)
	body := <-long
	for _, want := range []string{"utmstack_up 1", `utmstack_query_up{query="all"} 1`, `utmstack_alerts{query="all"} 8`} {
		if !strings.Contains(body, want) {
			t.Errorf("the long scrape lacks %q:\n%s", want, body)
		}
	}
	if n := h.fake.Requests(http.MethodPost, dataPath) - before; n != 6 {
		t.Errorf("the two scrapes made %d data calls, want one round of 6", n)
	}
}

// join moves a round's deadline to the latest scrape's, never past the
// round's limit, and refuses once the round's calls are being cut.
func TestRoundJoinExtendsTheDeadlineWithinTheLimit(t *testing.T) {
	now := time.Now()
	p := &pendingRound{deadline: now.Add(time.Second), limit: now.Add(time.Minute), cut: time.AfterFunc(time.Hour, func() {})}
	defer p.cut.Stop()
	if !p.join(now.Add(10*time.Second)) || !p.deadline.Equal(now.Add(10*time.Second)) {
		t.Fatalf("after a later scrape joined, deadline %v, want +10s", p.deadline.Sub(now))
	}
	if !p.join(now.Add(2*time.Second)) || !p.deadline.Equal(now.Add(10*time.Second)) {
		t.Fatalf("an earlier scrape moved the deadline to %v", p.deadline.Sub(now))
	}
	if !p.join(now.Add(time.Hour)) || !p.deadline.Equal(p.limit) {
		t.Fatalf("deadline %v past the limit %v", p.deadline.Sub(now), p.limit.Sub(now))
	}

	fired := make(chan struct{})
	cut := &pendingRound{deadline: now, limit: now, cut: time.AfterFunc(0, func() { close(fired) })}
	<-fired
	if cut.join(now.Add(time.Hour)) {
		t.Fatal("a scrape joined a round whose calls were already cut")
	}
}

// A round still running when a reload replaces its target records its
// success on the new target too: the last-success time never goes back to 0.
func TestReloadDuringARoundKeepsItsSuccess(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
	held := make(chan struct{})
	entered := make(chan struct{}, 16)
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == dataPath {
			entered <- struct{}{}
			select {
			case <-held:
			case <-time.After(time.Minute): // a bound; the scrape then fails the test
			}
		}
		return false
	})
	first := asyncScrape(h.server.URL, "60")
	<-entered
	if err := h.exporter.Apply(h.config(t, "", testPassword)); err != nil {
		t.Fatal(err)
	}
	close(held)
	if body := <-first; !strings.Contains(body, `utmstack_query_up{query="all"} 1`) {
		t.Fatalf("the held scrape failed:\n%s", body)
	}

	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != dataPath {
			return false
		}
		w.Header().Set("X-UtmStack-error", "all shards failed")
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	series, body, _ := promScrape(t, h, "")
	if up := series[`utmstack_query_up{query="all"}`]; up != 0 {
		t.Fatalf("the failing round is up:\n%s", body)
	}
	want := float64(epoch.Unix())
	if got := series[`utmstack_query_last_success_timestamp_seconds{query="all"}`]; got != want {
		t.Fatalf("last success after a reload during the successful round: %v, want %v", got, want)
	}
}
