package collector

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Scrapes with different budgets (X-Prometheus-Scrape-Timeout-Seconds),
// as two Prometheus servers with different scrape_timeout send, or anyone
// who can reach /metrics: a short budget never decides for the others.

// A scrape with a short budget starts the round that a scrape with a
// longer one joins: the short one answers down at its deadline, the long
// one is served the round, uncut.
func TestShortBudgetNeverCutsALongerScrape(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
	h.exporter.opts.TimeoutOffset = 0
	// Logged in beforehand: the short scrape's budget must only cover its
	// round's first data call reaching UTMStack, not a login as well.
	if series, body, _ := promScrape(t, h, ""); series["utmstack_up"] != 1 {
		t.Fatalf("the scrape that logs in is not up:\n%s", body)
	}
	release := make(chan struct{})
	entered := make(chan struct{}, 64)
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if isDataCall(r) {
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return false
	})
	short := asyncScrape(h.server.URL, "1")
	select {
	case <-entered: // the short scrape's round is in flight
	case body := <-short:
		// Else nothing would ever be entered, and the test would hang.
		t.Fatalf("the short scrape answered before its round reached UTMStack:\n%s", body)
	}
	long := asyncScrape(h.server.URL, "30")
	if body := <-short; !strings.Contains(body, "utmstack_up 0") {
		t.Fatalf("the short scrape, held past its deadline, is not down:\n%s", body)
	}
	close(release)
	body := <-long
	for _, want := range []string{"utmstack_up 1", `utmstack_query_up{query="all"} 1`, `utmstack_alerts{query="all"} 8`} {
		if !strings.Contains(body, want) {
			t.Errorf("the longer scrape lacks %q: it inherited the short one's cut\n%s", want, body)
		}
	}
}

// Under min_interval, a round cut by a budget of a microsecond is never
// served to the scrapes that follow.
func TestCutRoundIsNotReusedUnderMinInterval(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  min_interval: 30s\n")
	h.exporter.opts.TimeoutOffset = 0
	// The cut reaches the round's calls a moment after the deadline, time
	// enough on a loaded machine for a loopback call to be answered: held
	// until cancelled, none is, and the round is cut whatever the speed.
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !isDataCall(r) {
			return false
		}
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a client gone only once the body is read
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute): // a bound, not a wait
		}
		return true
	})
	series, body, _ := promScrape(t, h, "0.000001")
	if up, ok := series[`utmstack_query_up{query="all"}`]; !ok || up != 0 || series[`utmstack_alerts{query="all"}`] != 0 {
		t.Fatalf("a round cut after a microsecond has its counts:\n%s", body)
	}
	h.fake.SetFault(nil)
	h.clock.Advance(time.Second)
	series, body, _ = promScrape(t, h, "10")
	if series[`utmstack_query_up{query="all"}`] != 1 || series[`utmstack_alerts{query="all"}`] != 8 {
		t.Fatalf("the scrape after a cut round was served it:\n%s", body)
	}
}
