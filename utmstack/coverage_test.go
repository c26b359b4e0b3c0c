package utmstack_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	sourcesPath = "/api/utm-data-input-statuses"
	agentsPath  = "/api/agent-manager/agents"
	agentKey    = "agent-key-9f8e7d6c5b4a"
)

func manySources(n int) []utmstacktest.DataSource {
	out := make([]utmstacktest.DataSource, n)
	for i := range out {
		out[i] = utmstacktest.DataSource{Source: fmt.Sprintf("host-%05d", i), DataType: "syslog",
			LastSeen: epoch.Add(-time.Duration(i) * time.Second), Median: time.Minute}
	}
	return out
}

func manyAgents(n int) []utmstacktest.Agent {
	out := make([]utmstacktest.Agent, n)
	for i := range out {
		out[i] = utmstacktest.Agent{ID: i + 1, Hostname: fmt.Sprintf("pc-%05d", i), Version: "11.0.1", Key: agentKey, LastPing: epoch}
	}
	return out
}

func TestDataSourcesReadAcrossPages(t *testing.T) {
	sources := manySources(1234)
	// One source UTMStack leaves out (only HIDS logs), one it keeps whole
	// because it also sends another type, and one without a median.
	sources = append(sources,
		utmstacktest.DataSource{Source: "agent-only", DataType: "hids", LastSeen: epoch},
		utmstacktest.DataSource{Source: "fw-1", DataType: "hids", LastSeen: epoch, Median: time.Hour},
		utmstacktest.DataSource{Source: "fw-1", DataType: "firewall-fortigate", LastSeen: epoch.Add(-time.Hour)},
	)
	f := newFixture(t, utmstacktest.Options{DataSources: sources})
	c := f.client(t, password())

	got, _, err := c.DataSources(context.Background(), utmstack.PageLimits{PageSize: 500, MaxItems: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1236 {
		t.Fatalf("%d data sources, want 1236 (1234 + both rows of fw-1, not the HIDS-only one)", len(got))
	}
	if n := f.fake.Requests(http.MethodGet, sourcesPath); n != 3 {
		t.Fatalf("%d calls for 1236 rows in pages of 500, want 3", n)
	}
	byKey := map[string]utmstack.DataSource{}
	for _, d := range got {
		byKey[d.DataType+"/"+d.Source] = d
	}
	if d := byKey["syslog/host-00007"]; !d.LastSeen.Equal(epoch.Add(-7*time.Second)) || !d.HasMedian || d.Median != time.Minute {
		t.Fatalf("host-00007 = %+v, want last seen 7s before epoch, median 1m", d)
	}
	if d, ok := byKey["firewall-fortigate/fw-1"]; !ok || d.HasMedian {
		t.Fatalf("fw-1 firewall row = %+v (found %v), want one without a median", d, ok)
	}
	if _, ok := byKey["hids/agent-only"]; ok {
		t.Fatal("a source with only HIDS logs was listed; UTMStack leaves it out")
	}
}

func TestAgentsReadAcrossPagesWithoutTheirKeys(t *testing.T) {
	agents := manyAgents(1201)
	agents[5].LastPing = epoch.Add(-2 * time.Minute) // offline by the agent manager's rule
	agents[6].Status = "UNKNOWN"
	agents[7].Version = "10.9.0"
	f := newFixture(t, utmstacktest.Options{Agents: agents})
	c := f.client(t, password())

	got, calls, err := c.Agents(context.Background(), utmstack.PageLimits{PageSize: 500, MaxItems: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1201 || calls != 3 || f.fake.Requests(http.MethodGet, agentsPath) != 3 {
		t.Fatalf("%d agents in %d calls, want 1201 in 3", len(got), f.fake.Requests(http.MethodGet, agentsPath))
	}
	status := map[string]int{}
	for _, a := range got {
		status[a.Status]++
		if strings.Contains(fmt.Sprintf("%+v", a), "SECRET") || strings.Contains(fmt.Sprintf("%+v", a), agentKey) {
			t.Fatalf("agent %+v keeps its key", a)
		}
	}
	if status["ONLINE"] != 1199 || status["OFFLINE"] != 1 || status["UNKNOWN"] != 1 {
		t.Fatalf("statuses %v, want 1199 ONLINE, 1 OFFLINE, 1 UNKNOWN", status)
	}
	if got[7].Version != "10.9.0" || got[7].ID != 8 {
		t.Fatalf("agent 8 = %+v, want version 10.9.0 in id order", got[7])
	}
}

// TestPagingIsBounded: whatever X-Total-Count claims, the read makes at
// most MaxItems/PageSize+1 calls, and refuses a page longer than asked.
func TestPagingIsBounded(t *testing.T) {
	lim := utmstack.PageLimits{PageSize: 10, MaxItems: 30}
	rows := func(n, from int) string {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"id":%d,"status":"ONLINE","version":"1"}`, from+i)
		}
		return b.String() + "]"
	}
	cases := []struct {
		name      string
		answer    func(page int) (total string, body string)
		wantErr   string
		wantCalls int
	}{
		{"a total beyond the limit", func(int) (string, string) { return "1000000000", rows(10, 0) }, "more than the 30", 1},
		{"full pages that never end, total lying low", func(p int) (string, string) { return "25", rows(10, p*10) }, "", 3},
		{"full pages that never end, total within the limit", func(p int) (string, string) { return "30", rows(10, p*10) }, "", 3},
		{"full pages past the total", func(p int) (string, string) { return "29", rows(10, p*10) }, "", 3},
		{"the same page again and again", func(int) (string, string) { return "30", rows(10, 0) }, "", 3},
		{"a page longer than asked", func(int) (string, string) { return "30", rows(11, 0) }, "holds more agents than the 10 asked", 1},
		{"no total", func(int) (string, string) { return "", rows(10, 0) }, "X-Total-Count", 1},
		{"a negative total", func(int) (string, string) { return "-1", rows(10, 0) }, "X-Total-Count", 1},
		{"null", func(int) (string, string) { return "0", "null" }, "expected a JSON array of agents", 1},
		{"an object", func(int) (string, string) { return "0", `{"agents":[]}` }, "expected a JSON array of agents", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, utmstacktest.Options{})
			calls := 0
			f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != agentsPath {
					return false
				}
				calls++
				page, _ := strconv.Atoi(r.URL.Query().Get("pageNumber"))
				if calls > 100 {
					t.Error("the read does not stop")
					page = -1000
				}
				total, body := tc.answer(page - 1)
				if total != "" {
					w.Header().Set("X-Total-Count", total)
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
				return true
			})
			c := f.client(t, password())
			got, _, err := c.Agents(context.Background(), lim)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
			}
			if calls != tc.wantCalls {
				t.Fatalf("%d calls, want %d", calls, tc.wantCalls)
			}
			if len(got) > lim.MaxItems {
				t.Fatalf("%d agents kept, more than %d", len(got), lim.MaxItems)
			}
		})
	}
}

// TestCoverageForbiddenHoldsNothingBack: a 403 on a coverage endpoint is
// that endpoint's own: no backoff, no auth failure, the alert counts go on.
func TestCoverageForbiddenHoldsNothingBack(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{DataSources: manySources(3), Agents: manyAgents(3)})
	f.fake.Forbid(sourcesPath, true)
	f.fake.Forbid(agentsPath, true)
	c := f.client(t, password())
	for range 3 {
		_, _, err := c.DataSources(context.Background(), utmstack.DefaultPageLimits)
		var callErr *utmstack.Error
		var authErr *utmstack.AuthError
		if !errors.As(err, &callErr) || callErr.Status != http.StatusForbidden || errors.As(err, &authErr) {
			t.Fatalf("data sources: err = %v, want a plain 403 *Error", err)
		}
		if _, _, err := c.Agents(context.Background(), utmstack.DefaultPageLimits); !errors.As(err, &callErr) || callErr.Status != http.StatusForbidden {
			t.Fatalf("agents: err = %v, want a 403", err)
		}
		got, err := c.ValuesWithCount(context.Background(), byStatus)
		wantStatusCounts(t, got, err)
	}
	if n := f.counts.failed(utmstack.ReasonForbidden); n != 0 || f.logins() != 1 {
		t.Fatalf("%d forbidden auth failures, %d logins; want 0 and 1", n, f.logins())
	}
}

func TestCoverageFailuresSayWhy(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{DataSources: manySources(3), Agents: manyAgents(3)})
	f.fake.SetDataSourcesFailing("could not open JPA EntityManager")
	f.fake.SetAgentManagerDown(true)
	c := f.client(t, password())
	_, _, err := c.DataSources(context.Background(), utmstack.DefaultPageLimits)
	if err == nil || !strings.Contains(err.Error(), "could not open JPA EntityManager") || !strings.Contains(err.Error(), "empty body") {
		t.Fatalf("data sources: err = %v, want UTMStack's cause and the empty body named", err)
	}
	_, _, err = c.Agents(context.Background(), utmstack.DefaultPageLimits)
	var callErr *utmstack.Error
	if !errors.As(err, &callErr) || callErr.Status != http.StatusInternalServerError || !strings.Contains(err.Error(), "UNAVAILABLE") {
		t.Fatalf("agents: err = %v, want a 500 naming the agent manager's failure", err)
	}
	assertNoSecret(t, err)
}

func TestCoverageReadStopsWithItsContext(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{Agents: manyAgents(50)})
	ctx, cancel := context.WithCancel(context.Background())
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == agentsPath && r.URL.Query().Get("pageNumber") == "2" {
			cancel() // the scrape's deadline passes during the read
		}
		return false
	})
	c := f.client(t, password())
	if _, _, err := c.Agents(ctx, utmstack.PageLimits{PageSize: 10, MaxItems: 100}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if n := f.fake.Requests(http.MethodGet, agentsPath); n > 2 {
		t.Fatalf("%d calls after the context ended at the second, want 2", n)
	}
}

// serveRows answers every call of path with body, a total of total and
// X-UtmStack-error utmErr when set.
func serveRows(f *fixture, path, total, body, utmErr string) {
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		w.Header().Set("X-Total-Count", total)
		if utmErr != "" {
			w.Header().Set("X-UtmStack-error", utmErr)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
		return true
	})
}

// TestOversizedPageStopsAtTheFirstRowTooMany: a body just under the body
// limit of 1.3 million empty rows is refused after the 501st, without
// decoding the rest.
func TestOversizedPageStopsAtTheFirstRowTooMany(t *testing.T) {
	const n = 1_300_000
	f := newFixture(t, utmstacktest.Options{})
	serveRows(f, agentsPath, "10", "["+strings.Repeat("{},", n-1)+"{}]", "")
	c := f.client(t, password())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := c.Agents(context.Background(), utmstack.DefaultPageLimits)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "holds more agents than the 500 asked") {
		t.Fatalf("err = %v, want the page refused as longer than asked", err)
	}
	// Reading the 4 MB body costs a few of them; decoding every row cost
	// over 100 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Fatalf("refusing a page of %d rows allocated %d MB, want under 32", n, alloc>>20)
	}
}

// TestHostileMediansAndTimestamps: a median a time.Duration cannot hold,
// or a negative one, is no median; a last-seen time outside 1970 to 2262
// fails the read, as an alert time does.
func TestHostileMediansAndTimestamps(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	serveRows(f, sourcesPath, "4", `[
		{"source":"ok","dataType":"syslog","timestamp":1700000000,"median":60},
		{"source":"negative","dataType":"syslog","timestamp":1700000000,"median":-60},
		{"source":"huge","dataType":"syslog","timestamp":1700000000,"median":10000000000},
		{"source":"largest","dataType":"syslog","timestamp":9223372036,"median":9223372036}]`, "")
	c := f.client(t, password())
	got, _, err := c.DataSources(context.Background(), utmstack.DefaultPageLimits)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range got {
		want := d.Source == "ok" || d.Source == "largest"
		if d.HasMedian != want || d.HasMedian && d.Median <= 0 {
			t.Errorf("%s: median %v (has %v), want one only when it is 0 to 292 years", d.Source, d.Median, d.HasMedian)
		}
	}
	for _, ts := range []string{"9223372037", "-1", "-9223372036854775808"} {
		serveRows(f, sourcesPath, "1", `[{"source":"fw","dataType":"syslog","timestamp":`+ts+`,"median":60}]`, "")
		_, _, err := c.DataSources(context.Background(), utmstack.DefaultPageLimits)
		var callErr *utmstack.Error
		if !errors.As(err, &callErr) || !strings.Contains(err.Error(), "outside 1970 to 2262") {
			t.Errorf("timestamp %s: err = %v, want a bad answer", ts, err)
		}
	}
}

// TestCoverageQuotesAHugeErrorHeaderCut: a megabyte of X-UtmStack-error
// on a failed read is quoted as its first few hundred bytes.
func TestCoverageQuotesAHugeErrorHeaderCut(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	serveRows(f, sourcesPath, "0", "", strings.Repeat("x", 1<<20))
	c := f.client(t, password())
	_, _, err := c.DataSources(context.Background(), utmstack.DefaultPageLimits)
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "(cut, 1048576 bytes in all)") {
		t.Fatalf("err is %d bytes, want under 1000 and marked as cut", len(fmt.Sprint(err)))
	}
}
