package collector

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/utmstack/utmstack_exporter/config"
)

// Reload storms: SIGHUPs, POST /-/reload and direct Applies arriving in
// bursts while Prometheus scrapes. Run with -race. Nothing may race, leak
// goroutines, serve a mix of two configurations, or lose the last reload.

const secondUser = "second-user"
const secondPassword = "second-users-password"

// stormConfig is generation n: it alternates the user (so half the reloads
// build a new client and log in again) and the query set, and names the
// generation in the first query's help.
func stormConfig(url, pw1, pw2 string, n int) string {
	user, pwFile := testUser, pw1
	if n%2 == 1 {
		user, pwFile = secondUser, pw2
	}
	queries := [][]string{{"all"}, {"all", "open"}, {"other"}}[n%3]
	var b strings.Builder
	fmt.Fprintf(&b, "utmstack:\n  url: %s\n  auth:\n    username: %s\n    password_file: %s\nqueries:\n", url, user, pwFile)
	for i, q := range queries {
		help := ""
		if i == 0 {
			help = fmt.Sprintf("    help: generation %d\n", n)
		}
		fmt.Fprintf(&b, "  - name: %s\n%s    by: [severity]\n", q, help)
	}
	return b.String()
}

var stormQuerySets = [][]string{{"all"}, {"all", "open"}, {"other"}}

func generationOf(cfg *config.Config) string {
	if cfg == nil || len(cfg.Queries) == 0 {
		return "<none>"
	}
	return strings.TrimPrefix(cfg.Queries[0].Help, "generation ")
}

// writeAtomically replaces path's content in one rename, as config
// management tools do, so a reload reads an old or a new file, never half.
func writeAtomically(t *testing.T, path, content string) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Error(err)
	}
}

// stormScrape scrapes once and checks that the answer belongs to exactly
// one of the configurations.
func stormScrape(t *testing.T, client *http.Client, url string) {
	resp, err := client.Get(url)
	if err != nil {
		t.Errorf("scrape: %v", err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("scrape: HTTP %d, %v\n%s", resp.StatusCode, err, body)
		return
	}
	var names []string
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, `utmstack_query_up{query="`); ok {
			name, _, _ := strings.Cut(rest, `"`)
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, set := range stormQuerySets {
		if slices.Equal(names, slices.Sorted(slices.Values(set))) {
			return
		}
	}
	t.Errorf("a scrape served the queries %v: no configuration has exactly these", names)
}

// settledGoroutines waits, bounded, for the goroutine count to come down to
// limit, yielding instead of sleeping, and returns the count it saw last.
func settledGoroutines(limit int, within time.Duration) int {
	deadline := time.Now().Add(within)
	n := runtime.NumGoroutine()
	for n > limit && time.Now().Before(deadline) {
		runtime.Gosched()
		n = runtime.NumGoroutine()
	}
	return n
}

func TestReloadStorm(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
	h.fake.SetPassword(secondUser, secondPassword)
	dir := t.TempDir()
	pw1 := filepath.Join(dir, "password1")
	pw2 := filepath.Join(dir, "password2")
	for path, pw := range map[string]string{pw1: testPassword, pw2: secondPassword} {
		if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "utmstack.yml")
	writeAtomically(t, path, stormConfig(h.upstream.URL, pw1, pw2, 0))
	reloadRegistry := prometheus.NewRegistry()
	reloader := config.NewReloader(path, nil, h.exporter.Apply, slog.New(slog.DiscardHandler), reloadRegistry)
	if err := reloader.Reload(); err != nil {
		t.Fatal(err)
	}
	// Parsed beforehand: the direct Applies race each other, not the parser.
	direct := make([]*config.Config, 6)
	for i := range direct {
		text := stormConfig(h.upstream.URL, pw1, pw2, 1000+i)
		cfg, err := config.Parse([]byte(text), "direct.yml", nil)
		if err != nil {
			t.Fatal(err)
		}
		direct[i] = cfg
	}

	scrapeTransport := &http.Transport{}
	scrapeClient := &http.Client{Transport: scrapeTransport, Timeout: time.Minute}
	stormScrape(t, scrapeClient, h.server.URL)
	scrapeTransport.CloseIdleConnections()
	h.upstream.CloseClientConnections()
	baseline := settledGoroutines(0, 0)

	const (
		workers    = 4
		iterations = 25
		signals    = 50
	)
	var (
		wmu        sync.Mutex
		generation int
		broken     int
	)
	// Phase 1: file rewrites with Reload (some files broken), SIGHUPs, and
	// direct Applies, all under concurrent scrapes.
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { // a config management tool rewriting the file, then POST /-/reload
			for range iterations {
				wmu.Lock()
				generation++
				content := stormConfig(h.upstream.URL, pw1, pw2, generation)
				if generation%7 == 0 {
					content = "utmstack:\n  url: [broken\n"
					broken++
				}
				writeAtomically(t, path, content)
				wmu.Unlock()
				_ = reloader.Reload() // a broken file fails; the running config stays
			}
		})
		wg.Go(func() {
			for i := range iterations {
				if err := h.exporter.Apply(direct[(w+i)%len(direct)]); err != nil {
					t.Errorf("Apply: %v", err)
				}
			}
		})
		wg.Go(func() {
			for range iterations {
				stormScrape(t, scrapeClient, h.server.URL)
			}
		})
	}
	hup := make(chan os.Signal, signals)
	onSignalDone := make(chan struct{})
	go func() {
		defer close(onSignalDone)
		reloader.OnSignal(hup)
	}()
	for range signals {
		hup <- os.Interrupt // any value: OnSignal reloads once per value
	}
	close(hup)
	wg.Wait()
	select {
	case <-onSignalDone:
	case <-time.After(time.Minute):
		t.Fatal("the SIGHUP loop did not drain 50 signals within a minute")
	}
	if cfg := h.exporter.Config(); cfg == nil {
		t.Fatal("no configuration in effect after the storm")
	}

	// The last word: a good file, then a reload. It must be in effect, and
	// the next scrape must use it.
	wmu.Lock()
	generation++
	last := generation
	writeAtomically(t, path, stormConfig(h.upstream.URL, pw1, pw2, last))
	wmu.Unlock()
	if err := reloader.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := generationOf(h.exporter.Config()); got != fmt.Sprint(last) {
		t.Fatalf("generation %s in effect after the last reload, want %d: a reload was lost", got, last)
	}
	if err := testutil.GatherAndCompare(reloadRegistry, strings.NewReader(`
# HELP utmstack_exporter_config_last_reload_successful 1 when the last configuration load succeeded.
# TYPE utmstack_exporter_config_last_reload_successful gauge
utmstack_exporter_config_last_reload_successful 1
`), "utmstack_exporter_config_last_reload_successful"); err != nil {
		t.Fatal(err)
	}
	wantQueries := stormQuerySets[last%3]
	series, body, _ := promScrape(t, h, "")
	for _, q := range wantQueries {
		if series[`utmstack_query_up{query="`+q+`"}`] != 1 {
			t.Fatalf("the scrape after the last reload does not serve query %s:\n%s", q, body)
		}
	}

	// A direct Apply after the reloads is likewise the one in effect.
	if err := h.exporter.Apply(direct[0]); err != nil {
		t.Fatal(err)
	}
	if h.exporter.Config() != direct[0] {
		t.Fatal("the last Apply is not the configuration in effect")
	}

	// Goroutines. Right after the storm only the keep-alive connections of
	// the clients still in use may remain (a few per client, 3 goroutines
	// each): replaced clients close theirs as their last requests end.
	// Once those are closed too, everything the storm started has ended.
	const keepAliveRoom, slack = 40, 5
	lingering := settledGoroutines(baseline+keepAliveRoom, 10*time.Second)
	scrapeTransport.CloseIdleConnections()
	h.upstream.CloseClientConnections()
	after := settledGoroutines(baseline+slack, 10*time.Second)
	t.Logf("reload storm: %d file reloads (%d broken files), %d SIGHUPs, %d direct Applies, %d scrapes; goroutines %d before, %d right after, %d once keep-alive connections closed",
		workers*iterations+1, broken, signals, workers*iterations+1, workers*iterations+2, baseline, lingering, after)
	if lingering > baseline+keepAliveRoom {
		t.Errorf("%d goroutines right after the storm, %d before: replaced clients keep their connections", lingering, baseline)
	}
	if after > baseline+slack {
		t.Fatalf("%d goroutines after the storm, %d before: a leak", after, baseline)
	}
}

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
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		out <- string(body)
	}()
	return out
}

// A round still running when a reload replaces its target records its
// success where the new target reads it: the last-success time never goes back to 0.
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
	select {
	case <-entered:
	case body := <-first:
		t.Fatalf("the scrape answered before its round reached UTMStack:\n%s", body)
	}
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

// A scrape that joins a round and reaches its own deadline first answers
// then: every query down, the incident counts down, the health series all
// there.
func TestJoinerAnswersAtItsOwnDeadline(t *testing.T) {
	h := newHarness(t, knownAlerts(), "  timeout: 1h\n")
	h.exporter.opts.TimeoutOffset = 0
	held := make(chan struct{})
	entered := make(chan struct{}, 16)
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if isDataCall(r) {
			entered <- struct{}{}
			select {
			case <-held:
			case <-time.After(time.Minute): // a bound; the scrapes then fail the test
			}
		}
		return false
	})
	first := asyncScrape(h.server.URL, "60")
	select {
	case <-entered: // the first scrape's round is in flight
	case body := <-first:
		t.Fatalf("the first scrape answered before its round reached UTMStack:\n%s", body)
	}
	body := <-asyncScrape(h.server.URL, "0.3")
	for _, want := range []string{"utmstack_up 0", `utmstack_query_up{query="all"} 0`, "utmstack_incidents_up 0", "utmstack_exporter_target_info{"} {
		if !strings.Contains(body, want) {
			t.Errorf("the joiner's answer lacks %q:\n%s", want, body)
		}
	}
	close(held)
	if body := <-first; !strings.Contains(body, `utmstack_query_up{query="all"} 1`) {
		t.Fatalf("the round's starter failed:\n%s", body)
	}
}
