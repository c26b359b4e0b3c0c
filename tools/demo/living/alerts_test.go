package living

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestAlertsDeterministic(t *testing.T) {
	a, b := Alerts(t0, 300, 42), Alerts(t0, 300, 42)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Error("same seed, different alerts")
	}
	c, _ := json.Marshal(Alerts(t0, 300, 43))
	if string(ja) == string(c) {
		t.Error("different seeds, same alerts")
	}
	if len(a) != 300 || len(Alerts(t0, 0, 1)) != 0 {
		t.Error("wrong number of alerts")
	}
}

func TestAlertsVariety(t *testing.T) {
	alerts := Alerts(t0, 2000, 1)
	ids := map[string]bool{}
	severities, statuses := map[int64]int{}, map[int64]int{}
	countries := map[string]int{}
	noGeo, echoes, falsePositives := 0, 0, 0
	for _, a := range alerts {
		ids[a["id"].(string)] = true
		ts, err := time.Parse(time.RFC3339Nano, a["@timestamp"].(string))
		if err != nil || ts.After(t0) || ts.Before(t0.Add(-5*24*time.Hour)) {
			t.Fatalf("@timestamp %v outside the five days before now (%v)", a["@timestamp"], err)
		}
		sev := a["severity"].(int64)
		severities[sev]++
		if a["severityLabel"] != severityLabels[sev] {
			t.Errorf("severity %d labelled %v", sev, a["severityLabel"])
		}
		st := a["status"].(int64)
		statuses[st]++
		if a["statusLabel"] != statusLabels[st] {
			t.Errorf("status %d labelled %v", st, a["statusLabel"])
		}
		if geo, ok := a["adversary"].(map[string]any)["geolocation"].(map[string]any); ok {
			countries[geo["countryCode"].(string)]++
		} else {
			noGeo++
		}
		if _, ok := a["parentId"]; ok {
			echoes++
		}
		if reflect.DeepEqual(a["tags"], []any{"False positive"}) {
			falsePositives++
		}
	}
	for _, a := range alerts {
		if p, ok := a["parentId"].(string); ok && !ids[p] {
			t.Errorf("echo %s points to unknown parent %s", a["id"], p)
		}
	}
	if len(ids) != len(alerts) {
		t.Errorf("%d distinct ids for %d alerts", len(ids), len(alerts))
	}
	if len(severities) != 3 {
		t.Errorf("severities %v", severities)
	}
	// The AlertStatus codes; 4 (the frontend's IGNORED) is written by no
	// backend.
	for _, st := range []int64{1, 2, 3, 5} {
		if statuses[st] == 0 {
			t.Errorf("no alert with status %d: %v", st, statuses)
		}
	}
	if len(statuses) != 4 {
		t.Errorf("statuses %v, want only 1, 2, 3 and 5", statuses)
	}
	if statuses[2] < len(alerts)/3 {
		t.Errorf("status 2 should dominate: %v", statuses)
	}
	if len(countries) < 35 {
		t.Errorf("only %d countries", len(countries))
	}
	if countries["US"] < 4*countries["PT"] {
		t.Errorf("country distribution not skewed: US %d, PT %d", countries["US"], countries["PT"])
	}
	if frac := float64(noGeo) / float64(len(alerts)); frac < 0.05 || frac > 0.15 {
		t.Errorf("%.2f without geolocation, want about 0.10", frac)
	}
	if echoes == 0 || echoes > len(alerts)/4 || falsePositives == 0 {
		t.Errorf("echoes %d, false positives %d", echoes, falsePositives)
	}
}

// The generated alerts work end to end with the exporter's default queries.
func TestAlertsThroughTheAPI(t *testing.T) {
	f := newFixture(t, Alerts(t0, 1000, 3))
	filters := `[{"field":"@timestamp","operator":"IS_BETWEEN","value":["now-24h","now"]},{"field":"tags","operator":"IS_NOT","value":"False positive"},{"field":"parentId","operator":"DOES_NOT_EXIST"}]`
	var bySeverity, byStatus map[string]int
	if err := json.Unmarshal([]byte(f.counts("severity", filters, `,"top":10,"orderByCount":true`)), &bySeverity); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(f.counts("status", filters, `,"top":10,"orderByCount":true`)), &byStatus); err != nil {
		t.Fatal(err)
	}
	sum := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	if sum(bySeverity) == 0 || sum(bySeverity) != sum(byStatus) {
		t.Errorf("severity total %d, status total %d", sum(bySeverity), sum(byStatus))
	}
	if sum(bySeverity) > 1000/4 {
		t.Errorf("%d alerts in the last 24h of 5 days, too many", sum(bySeverity))
	}
}

func TestIncidentsHaveEveryStatus(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	incidents := Incidents(now, 60, 1)
	seen := map[string]int{}
	for _, in := range incidents {
		seen[in.Status]++
		if in.Created.After(now) || in.Created.Before(now.Add(-5*24*time.Hour)) || in.Name == "" {
			t.Fatalf("incident %+v", in)
		}
	}
	for _, status := range []string{"OPEN", "IN_REVIEW", "COMPLETED", "MERGED"} {
		if seen[status] == 0 {
			t.Errorf("no %s incident among 60: %v", status, seen)
		}
	}
	if again := Incidents(now, 60, 1); again[17] != incidents[17] {
		t.Fatal("the same seed gave other incidents")
	}
}
