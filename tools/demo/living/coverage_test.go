package living

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sourcesAt steps the simulation and the server's clock to now and returns
// when UTMStack says each source last sent a log, as it answers the list.
func sourcesAt(f *fixture, l *Simulation, now time.Time) map[string]time.Time {
	f.t.Helper()
	f.clock.Set(now)
	l.Step(now)
	body, header := f.get(http.MethodGet, "/api/utm-data-input-statuses?page=0&size=1000", "")
	var rows []struct {
		Source    string `json:"source"`
		DataType  string `json:"dataType"`
		Timestamp int64  `json:"timestamp"`
		Median    *int64 `json:"median"`
	}
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		f.t.Fatal(err)
	}
	if got := header.Get("X-Total-Count"); got != "33" || len(rows) != 33 {
		f.t.Fatalf("%d sources, X-Total-Count %s; want the 33 of Sources", len(rows), got)
	}
	out := map[string]time.Time{}
	for _, r := range rows {
		if r.Median == nil || *r.Median < 30 || !strings.HasPrefix(r.Source, r.DataType+"-") {
			f.t.Errorf("source %+v: want a median of at least 30 s and the name of its data type", r)
		}
		out[r.Source] = time.Unix(r.Timestamp, 0)
	}
	return out
}

// agentsAt does the same for each agent's status.
func agentsAt(f *fixture, l *Simulation, now time.Time) map[string]string {
	f.t.Helper()
	f.clock.Set(now)
	l.Step(now)
	body, _ := f.get(http.MethodGet, "/api/agent-manager/agents?pageNumber=1&pageSize=100", "")
	var agents []struct{ Hostname, Status, AgentKey string }
	if err := json.Unmarshal([]byte(body), &agents); err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range agents {
		out[a.Hostname] = a.Status
	}
	return out
}

// A silenced source is last heard from when its silence began, Scale times
// as long ago as the silence has lasted, and sends again after it; the
// other sources send at every step.
func TestSimulationSourceGoesSilentAndComesBack(t *testing.T) {
	f := newFixture(t, nil)
	l := New(f.srv, t0, Options{History: 1, Seed: 1, Scale: 12})
	const quiet = "firewall-fortigate-traffic-2"
	from, to := t0.Add(2*time.Minute), t0.Add(6*time.Minute)
	if err := l.Silence(quiet, from, to); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at, want time.Time
	}{
		{t0.Add(time.Minute), t0.Add(time.Minute)},
		{from, from},
		{from.Add(90 * time.Second), from.Add(90*time.Second - 12*90*time.Second)}, // 18 minutes of silence at 12 times
		{to.Add(-time.Second), to.Add(-time.Second - 12*(4*time.Minute-time.Second))},
		{to, to},
	} {
		seen := sourcesAt(f, l, step.at)
		if !seen[quiet].Equal(step.want) {
			t.Errorf("at %v the silenced source was last seen %v, want %v", step.at.Sub(t0), seen[quiet].Sub(t0), step.want.Sub(t0))
		}
		for name, last := range seen {
			if name != quiet && !last.Equal(step.at) {
				t.Errorf("at %v source %s was last seen %v, want then: it sends", step.at.Sub(t0), name, last.Sub(t0))
			}
		}
	}
	if err := l.Silence("no-such-source", from, to); err == nil || !strings.Contains(err.Error(), "no-such-source") {
		t.Errorf("silencing an unknown source: %v, want an error naming it", err)
	}
}

// A disconnected agent is offline by the agent manager's own rule (no ping
// for a minute) once its absence, at Scale, passes a minute, and online
// again after it.
func TestSimulationAgentGoesOfflineAndComesBack(t *testing.T) {
	f := newFixture(t, nil)
	l := New(f.srv, t0, Options{History: 1, Seed: 1, Scale: 12})
	const host = "ws-finance-02"
	from, to := t0.Add(3*time.Minute), t0.Add(5*time.Minute)
	if err := l.Disconnect(host, from, to); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at   time.Time
		want string
	}{
		{t0.Add(time.Minute), "ONLINE"},
		{from.Add(4 * time.Second), "ONLINE"},  // 48 s without a ping at 12 times
		{from.Add(6 * time.Second), "OFFLINE"}, // 72 s
		{to.Add(-time.Second), "OFFLINE"},
		{to, "ONLINE"},
	} {
		statuses := agentsAt(f, l, step.at)
		if len(statuses) != len(Agents()) {
			t.Fatalf("%d agents listed, want the %d of Agents", len(statuses), len(Agents()))
		}
		for name, status := range statuses {
			want := "ONLINE"
			if name == host {
				want = step.want
			}
			if status != want {
				t.Errorf("at %v agent %s is %s, want %s", step.at.Sub(t0), name, status, want)
			}
		}
	}
	if err := l.Disconnect("no-such-host", from, to); err == nil || !strings.Contains(err.Error(), "no-such-host") {
		t.Errorf("disconnecting an unknown host: %v, want an error naming it", err)
	}
}
