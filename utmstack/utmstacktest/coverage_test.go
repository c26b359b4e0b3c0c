package utmstacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func coverageFixture(t *testing.T) (*fixture, string) {
	t.Helper()
	var sources []DataSource
	for i := range 45 {
		sources = append(sources, DataSource{Source: fmt.Sprintf("h%02d", i), DataType: "syslog", LastSeen: t0.Add(-time.Hour), Median: 10 * time.Minute})
	}
	sources = append(sources,
		DataSource{Source: "unknown", DataType: "syslog", LastSeen: t0},
		DataSource{Source: "self", DataType: "utmstack", LastSeen: t0},
	)
	var agents []Agent
	for i := range 5 {
		agents = append(agents, Agent{ID: 5 - i, Hostname: fmt.Sprintf("pc%d", 5-i), Version: "11.0.1", Key: "real-agent-key", LastPing: t0})
	}
	agents[0].LastPing = t0.Add(-61 * time.Second)
	f := newFixture(t, Options{DataSources: sources, Agents: agents})
	return f, f.login("admin", "s3cret!")
}

func rows(t *testing.T, r response) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("body %q is not a JSON array: %v", r.body, err)
	}
	return out
}

func TestDataSourcesAsUTMStackPagesThem(t *testing.T) {
	f, tok := coverageFixture(t)
	auth := []string{"Authorization", "Bearer " + tok}

	r := f.do("GET", "/api/utm-data-input-statuses", "", auth...)
	wantStatus(t, r, 200)
	if got := rows(t, r); len(got) != 20 || r.header.Get("X-Total-Count") != "45" {
		t.Fatalf("default page: %d rows, X-Total-Count %q; want 20 of 45 (unknown and utmstack-only sources left out)", len(got), r.header.Get("X-Total-Count"))
	}
	r = f.do("GET", "/api/utm-data-input-statuses?page=2&size=20&sort=id,desc", "", auth...)
	got := rows(t, r)
	if len(got) != 5 || got[0]["id"] != "syslog-h04" || got[0]["timestamp"] != float64(t0.Add(-time.Hour).Unix()) || got[0]["median"] != float64(600) {
		t.Fatalf("last page = %v, want 5 rows from syslog-h04, timestamp and median in seconds", got)
	}
	want := `</api/utm-data-input-statuses?page=1&size=20>; rel="prev",</api/utm-data-input-statuses?page=2&size=20>; rel="last",</api/utm-data-input-statuses?page=0&size=20>; rel="first"`
	if l := r.header.Get("Link"); l != want {
		t.Fatalf("Link %q, want %q", l, want)
	}
	if r := f.do("GET", "/api/utm-data-input-statuses?size=5000", "", auth...); len(rows(t, r)) != 45 {
		t.Fatal("a size above 2000 is not clamped to it")
	}
	// A bad sort is caught by the controller: 200, no body, the cause in
	// the header.
	r = f.do("GET", "/api/utm-data-input-statuses?sort=nope,asc", "", auth...)
	if r.status != 200 || r.body != "" || !strings.Contains(r.header.Get("X-UtmStack-error"), "No property 'nope'") {
		t.Fatalf("bad sort: %d %q %q", r.status, r.body, r.header.Get("X-UtmStack-error"))
	}
	wantSpringError(t, f.do("GET", "/api/utm-data-input-statuses", ""), 401, "/api/utm-data-input-statuses")
	f.srv.Forbid("/api/utm-data-input-statuses", true)
	wantSpringError(t, f.do("GET", "/api/utm-data-input-statuses", "", auth...), 403, "/api/utm-data-input-statuses")
}

func TestAgentsAsTheAgentManagerPagesThem(t *testing.T) {
	f, tok := coverageFixture(t)
	auth := []string{"Authorization", "Bearer " + tok}

	r := f.do("GET", "/api/agent-manager/agents", "", auth...)
	wantStatus(t, r, 200)
	all := rows(t, r)
	if len(all) != 5 || r.header.Get("X-Total-Count") != "5" {
		t.Fatalf("no paging: %d agents, total %q; want all 5", len(all), r.header.Get("X-Total-Count"))
	}
	for _, a := range all {
		if a["agentKey"] != "SECRET" {
			t.Fatalf("agent %v: the key is not masked", a)
		}
		if a["hostname"] == "pc5" && (a["status"] != "OFFLINE" || a["lastSeen"] != t0.Add(-61*time.Second).Format(time.DateTime)) {
			t.Fatalf("pc5 = %v, want OFFLINE a minute after its last ping", a)
		}
	}
	if strings.Contains(r.body, "real-agent-key") {
		t.Fatal("the agent key is served")
	}
	first := rows(t, f.do("GET", "/api/agent-manager/agents?pageNumber=0&pageSize=2&sortBy=id,asc", "", auth...))
	one := rows(t, f.do("GET", "/api/agent-manager/agents?pageNumber=1&pageSize=2&sortBy=id,asc", "", auth...))
	three := rows(t, f.do("GET", "/api/agent-manager/agents?pageNumber=3&pageSize=2&sortBy=id,asc", "", auth...))
	if fmt.Sprint(first) != fmt.Sprint(one) || one[0]["id"] != float64(1) || len(three) != 1 || three[0]["id"] != float64(5) {
		t.Fatalf("pages 0 %v, 1 %v, 3 %v; want 0 = 1 = ids 1, 2 and 3 = id 5", first, one, three)
	}
	r = f.do("GET", "/api/agent-manager/agents?pageNumber=1&pageSize=0", "", auth...)
	if len(rows(t, r)) != 0 || r.header.Get("X-Total-Count") != "5" {
		t.Fatal("pageSize=0 is LIMIT 0: nothing, with the whole count")
	}
	r = f.do("GET", "/api/agent-manager/agents?sortBy=bogus,asc", "", auth...)
	if r.status != 500 || !strings.Contains(r.header.Get("X-UtmStack-error"), `column "bogus" does not exist`) {
		t.Fatalf("bad sortBy: %d %q", r.status, r.header.Get("X-UtmStack-error"))
	}
	f.srv.SetAgentManagerDown(true)
	if r := f.do("GET", "/api/agent-manager/agents", "", auth...); r.status != 500 || r.body != "" || !strings.Contains(r.header.Get("X-UtmStack-error"), "UNAVAILABLE") {
		t.Fatalf("agent manager down: %d %q %q", r.status, r.body, r.header.Get("X-UtmStack-error"))
	}
	f.srv.Forbid("/api/agent-manager/agents", true)
	wantSpringError(t, f.do("GET", "/api/agent-manager/agents", "", auth...), http.StatusForbidden, "/api/agent-manager/agents")
}
