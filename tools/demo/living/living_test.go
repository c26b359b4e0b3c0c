package living

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// statusesByID maps each alert's id to its status.
func statusesByID(alerts []utmstacktest.Alert) map[string]int64 {
	out := map[string]int64{}
	for _, a := range alerts {
		out[a["id"].(string)] = a["status"].(int64)
	}
	return out
}

// Over simulated hours, alerts arrive at about the configured rates, move
// only forward through automatic review, open, in review and completed,
// never to ignored, and high-severity ones come and go.
func TestSimulationAlertsLive(t *testing.T) {
	s := utmstacktest.New(utmstacktest.Options{})
	l := New(s, t0, Options{History: 20, Seed: 7})
	start := l.Alerts()
	if len(start) != 20 {
		t.Fatalf("%d alerts at the start, want the 20 of the history", len(start))
	}
	rank := map[int64]int{1: 0, 2: 1, 3: 2, 5: 3}
	prev := statusesByID(start)
	highOpen := map[bool]int{} // steps with and without an open high-severity alert
	seen := map[int64]int{}
	const steps = 3 * 20 // three hours in steps of 3 minutes
	for i := 1; i <= steps; i++ {
		l.Step(t0.Add(time.Duration(i) * 3 * time.Minute))
		alerts := l.Alerts()
		open := false
		for _, a := range alerts {
			id, st := a["id"].(string), a["status"].(int64)
			if _, ok := rank[st]; !ok {
				t.Fatalf("alert %s has status %d; the simulation writes only 1, 2, 3 and 5", id, st)
			}
			if before, ok := prev[id]; ok && rank[st] < rank[before] {
				t.Fatalf("alert %s went back from status %d to %d", id, before, st)
			}
			if a["statusLabel"] != statusLabels[st] {
				t.Fatalf("alert %s: status %d labelled %v", id, st, a["statusLabel"])
			}
			seen[st]++
			if st == 2 && a["severity"] == int64(3) {
				if _, echo := a["parentId"]; !echo {
					open = true
				}
			}
		}
		highOpen[open]++
		prev = statusesByID(alerts)
	}
	arrived := len(prev) - 20
	// 3 h: 180 regular (1 a minute, 15% of them echoes), 12 high, 6
	// bursts of 20: about 310, with a standard deviation of about 50
	// (mostly the number of bursts); three of them either side.
	if arrived < 150 || arrived > 470 {
		t.Errorf("%d alerts arrived in 3 hours, want about 310", arrived)
	}
	for _, st := range []int64{1, 2, 3, 5} {
		if seen[st] == 0 {
			t.Errorf("no alert ever had status %d: %v", st, seen)
		}
	}
	if highOpen[true] == 0 || highOpen[false] == 0 {
		t.Errorf("steps with an open high-severity alert: %d, without: %d; want both", highOpen[true], highOpen[false])
	}
}

// A burst is many alerts of one rule from one adversary within a minute.
func TestSimulationBursts(t *testing.T) {
	s := utmstacktest.New(utmstacktest.Options{})
	l := New(s, t0, Options{History: 1, Seed: 3, Every: time.Hour, HighEvery: 100 * time.Hour, BurstEvery: 10 * time.Minute, BurstSize: 30})
	l.Step(t0.Add(2 * time.Hour))
	byMinute := map[string]int{}
	for _, a := range l.Alerts()[1:] {
		ts, err := time.Parse(time.RFC3339Nano, a["@timestamp"].(string))
		if err != nil {
			t.Fatal(err)
		}
		ip := a["adversary"].(map[string]any)["ip"]
		byMinute[a["name"].(string)+" "+ip.(string)+" "+ts.Truncate(2*time.Minute).String()]++
	}
	largest := 0
	for _, n := range byMinute {
		largest = max(largest, n)
	}
	if largest < 30 {
		t.Errorf("largest group of one rule and adversary within 2 minutes: %d alerts, want a burst of 30", largest)
	}
}

// The server answers with the simulation's alerts of the last step.
func TestSimulationFeedsTheServer(t *testing.T) {
	f := newFixture(t, nil)
	l := New(f.srv, t0, Options{History: 200, Seed: 1, Every: time.Second})
	f.clock.Set(t0.Add(10 * time.Minute))
	l.Step(t0.Add(10 * time.Minute))
	filters := `[{"field":"@timestamp","operator":"IS_BETWEEN","value":["now-5m","now"]}]`
	var byStatus map[string]int
	if err := json.Unmarshal([]byte(f.counts("status", filters, `,"top":10`)), &byStatus); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range byStatus {
		total += n
	}
	// About 300 alerts a second apart in the last 5 minutes, the newest
	// still in automatic review.
	if total < 200 || byStatus["1"] == 0 {
		t.Errorf("alerts of the last 5 minutes by status: %v; want the new ones, some in automatic review", byStatus)
	}
}

// Long runs stay bounded: alerts beyond the retention or the cap go, and
// a step long after the last simulates only the retained span.
func TestSimulationIsBounded(t *testing.T) {
	s := utmstacktest.New(utmstacktest.Options{})
	l := New(s, t0, Options{History: 100, Seed: 2, Every: time.Minute, Retention: time.Hour, Max: 50})
	if n := len(l.Alerts()); n > 50 {
		t.Fatalf("%d alerts, want at most 50", n)
	}
	far := t0.Add(365 * 24 * time.Hour)
	l.Step(far)
	alerts := l.Alerts()
	if len(alerts) == 0 || len(alerts) > 50 {
		t.Fatalf("%d alerts a year later, want 1 to 50", len(alerts))
	}
	for _, a := range alerts {
		ts, _ := time.Parse(time.RFC3339Nano, a["@timestamp"].(string))
		if far.Sub(ts) > time.Hour {
			t.Errorf("alert from %v kept beyond the one-hour retention", ts)
		}
	}
	l.Step(far.Add(-time.Minute)) // the past: nothing changes
	if len(l.Alerts()) != len(alerts) {
		t.Error("a step into the past changed the alerts")
	}
}

// The same seed and steps give the same alerts.
func TestSimulationIsRepeatable(t *testing.T) {
	run := func() string {
		l := New(utmstacktest.New(utmstacktest.Options{}), t0, Options{History: 50, Seed: 9})
		for i := 1; i <= 10; i++ {
			l.Step(t0.Add(time.Duration(i) * 3 * time.Minute))
		}
		out, _ := json.Marshal(l.Alerts())
		return string(out)
	}
	if first, second := run(), run(); first != second {
		t.Error("two runs with one seed differ")
	}
}

// Run steps on every tick and stops with its context.
func TestSimulationRun(t *testing.T) {
	l := New(utmstacktest.New(utmstacktest.Options{}), t0, Options{History: 10, Seed: 4, Every: time.Second})
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, ticks); close(done) }()
	ticks <- t0.Add(time.Minute)
	ticks <- t0.Add(2 * time.Minute) // accepted only once the first step is done
	cancel()
	<-done
	if n := len(l.Alerts()); n < 60 {
		t.Errorf("%d alerts after a minute of one a second, want more than 60", n)
	}
}

// Incidents are opened now and then and worked from open to in review to
// completed; merged and completed ones stay as they are, and the server
// counts them as the simulation says.
func TestSimulationIncidents(t *testing.T) {
	f := newFixture(t, nil)
	l := New(f.srv, t0, Options{
		History: 10, Seed: 5, Incidents: 40, IncidentEvery: 20 * time.Minute,
		Every: time.Hour, HighEvery: 100 * time.Hour, BurstEvery: 100 * time.Hour, // few alerts: this is about incidents
	})
	rank := map[string]int{"OPEN": 0, "IN_REVIEW": 1, "COMPLETED": 2}
	prev := map[int64]string{}
	for _, inc := range l.Incidents() {
		prev[inc.ID] = inc.Status
	}
	if len(prev) != 40 {
		t.Fatalf("%d incidents at the start, want 40", len(prev))
	}
	opened := 0
	for i := 1; i <= 24; i++ { // six hours in steps of 15 minutes
		now := t0.Add(time.Duration(i) * 15 * time.Minute)
		l.Step(now)
		for _, inc := range l.Incidents() {
			before, known := prev[inc.ID]
			switch {
			case !known:
				opened++
			case before == "MERGED" && inc.Status != "MERGED":
				t.Errorf("merged incident %d became %s", inc.ID, inc.Status)
			case before != "MERGED" && rank[inc.Status] < rank[before]:
				t.Errorf("incident %d went back from %s to %s", inc.ID, before, inc.Status)
			}
			prev[inc.ID] = inc.Status
		}
	}
	// 6 hours at one every 20 minutes: about 18.
	if opened < 8 || opened > 30 {
		t.Errorf("%d incidents opened in 6 hours, want about 18", opened)
	}
	counts := map[string]int{}
	for _, st := range prev {
		counts[st]++
	}
	for st, want := range counts {
		_, header := f.get(http.MethodGet, "/api/utm-incidents?incidentStatus.equals="+st+"&size=1", "")
		if got := header.Get("X-Total-Count"); got != strconv.Itoa(want) {
			t.Errorf("the server counts %s incidents %s, the simulation %d", st, got, want)
		}
	}
	if counts["COMPLETED"] == 0 {
		t.Errorf("no incident completed in 6 hours: %v", counts)
	}
}
