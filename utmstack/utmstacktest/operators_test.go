package utmstacktest

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"
)

// sampleAlerts is a small data set whose every document is known by id.
func sampleAlerts() []Alert {
	ts := func(d time.Duration) string { return t0.Add(-d).Format(time.RFC3339) }
	return []Alert{
		{"id": "a1", "name": "SSH Brute Force", "status": 2, "severity": 3, "score": 1.5,
			"tags": []string{"False positive"}, "@timestamp": ts(time.Hour), "parentId": "",
			"adversary": map[string]any{"ip": "203.0.113.9", "geolocation": map[string]any{"countryCode": "US", "country": "United States"}}},
		{"id": "a2", "name": "Port scan detected", "status": 5, "severity": 1,
			"tags": []string{"Reviewed", "VPN"}, "@timestamp": ts(72 * time.Hour), "parentId": "a1",
			"adversary": map[string]any{"geolocation": map[string]any{"countryCode": "CN", "country": "China"}}},
		{"id": "a3", "name": "ssh login", "status": 1, "severity": 2, "@timestamp": ts(240 * time.Hour),
			"adversary": map[string]any{"ip": "1.2.3.4"}},
		{"id": "a4", "name": "", "status": 2, "severity": 2, "@timestamp": ts(20 * time.Minute), "tags": []string{}},
	}
}

// matching returns the ids the filters select, via values-with-count.
func (f *fixture) matching(filters string) ([]string, response) {
	f.t.Helper()
	r := f.countBy("id.keyword", filters, `,"top":100`, "Utm-Internal-Key", "k")
	if r.status != 200 {
		return nil, r
	}
	var m map[string]int
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		f.t.Fatal(err)
	}
	ids := []string{}
	for id, n := range m {
		if n != 1 {
			f.t.Errorf("id %s counted %d times", id, n)
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, r
}

func TestOperators(t *testing.T) {
	f := newFixture(t, Options{InternalKey: "k", Alerts: sampleAlerts()})
	for _, tc := range []struct {
		filters string
		want    string
	}{
		{`[]`, "a1 a2 a3 a4"},
		{`[{"field":"status","operator":"IS","value":2}]`, "a1 a4"},
		{`[{"field":"status","operator":"IS","value":"2"}]`, "a1 a4"},
		{`[{"field":"status","operator":"IS","value":2.5}]`, ""},
		{`[{"field":"score","operator":"IS","value":1.5}]`, "a1"},
		{`[{"field":"name","operator":"IS","value":"brute FORCE"}]`, "a1"},
		{`[{"field":"name","operator":"IS","value":"force brute"}]`, ""},
		{`[{"field":"name.keyword","operator":"IS","value":"ssh login"}]`, "a3"},
		{`[{"field":"name.keyword","operator":"IS","value":"SSH LOGIN"}]`, ""},
		{`[{"field":"@timestamp","operator":"IS","value":"now-1h"}]`, "a1"},
		{`[{"field":"no.such.field","operator":"IS","value":"x"}]`, ""},
		{`[{"field":"tags","operator":"IS_NOT","value":"False positive"}]`, "a2 a3 a4"},
		{`[{"field":"no.such.field","operator":"IS_NOT","value":"x"}]`, "a1 a2 a3 a4"},
		{`[{"field":"name","operator":"CONTAIN","value":"rute"}]`, "a1"},
		{`[{"field":"name","operator":"CONTAIN","value":"SSH"}]`, "a1 a3"},
		{`[{"field":"name","operator":"CONTAIN","value":"rute For"}]`, "a1"},
		{`[{"field":"name.keyword","operator":"CONTAIN","value":"Port"}]`, "a2"},
		{`[{"field":"name.keyword","operator":"CONTAIN","value":"port"}]`, ""},
		{`[{"field":"status","operator":"CONTAIN","value":"2"}]`, ""},
		{`[{"field":"name","operator":"DOES_NOT_CONTAIN","value":"ssh"}]`, "a2 a4"},
		{`[{"field":"name","operator":"CONTAIN_ONE_OF","value":["brute","scan"]}]`, "a1 a2"},
		{`[{"field":"name","operator":"DOES_NOT_CONTAIN_ONE_OF","value":["brute","scan"]}]`, "a3 a4"},
		{`[{"field":"status","operator":"IS_ONE_OF","value":[1,5]}]`, "a2 a3"},
		{`[{"field":"status","operator":"IS_NOT_ONE_OF","value":[1,5]}]`, "a1 a4"},
		{`[{"field":"tags.keyword","operator":"IS_ONE_OF_TERMS","value":["VPN","False positive"]}]`, "a1 a2"},
		{`[{"field":"tags","operator":"IS_ONE_OF_TERMS","value":["False positive"]}]`, ""},
		{`[{"field":"tags","operator":"IS_ONE_OF_TERMS","value":["false"]}]`, "a1"},
		{`[{"field":"id.keyword","operator":"IS_ONE_OF_TERMS_OR","value":["a1"]},{"field":"id.keyword","operator":"IS_ONE_OF_TERMS_OR","value":["a3"]}]`, "a1 a3"},
		{`[{"field":"status","operator":"IS","value":2},{"field":"id.keyword","operator":"IS_ONE_OF_TERMS_OR","value":["a1","a3"]}]`, "a1"},
		{`[{"field":"parentId","operator":"EXIST"}]`, "a1 a2"},
		{`[{"field":"parentId.keyword","operator":"EXIST"}]`, "a1 a2"},
		{`[{"field":"parentId","operator":"DOES_NOT_EXIST"}]`, "a3 a4"},
		{`[{"field":"adversary.geolocation","operator":"EXIST"}]`, "a1 a2"},
		{`[{"field":"adversary.*.country","operator":"EXIST"}]`, "a1 a2"},
		{`[{"field":"tags","operator":"EXIST"}]`, "a1 a2"},
		{`[{"field":"@timestamp","operator":"IS_BETWEEN","value":["now-24h","now"]}]`, "a1 a4"},
		{`[{"field":"@timestamp","operator":"IS_BETWEEN","value":["now-30m","now"]}]`, "a4"},
		{`[{"field":"@timestamp","operator":"IS_BETWEEN","value":["now-30m/h","now"]}]`, "a1 a4"},
		{`[{"field":"@timestamp","operator":"IS_BETWEEN","value":["now-7d","now-2d"]}]`, "a2"},
		{`[{"field":"@timestamp","operator":"IS_BETWEEN","value":["2025-11-16","2025-11-16"]}]`, "a3"},
		{`[{"field":"@timestamp","operator":"IS_BETWEEN","value":["2025-11-26T11:00:00Z",null]}]`, "a1 a4"},
		{`[{"field":"@timestamp","operator":"IS_NOT_BETWEEN","value":["now-24h","now"]}]`, "a2 a3"},
		{`[{"field":"severity","operator":"IS_BETWEEN","value":[2,3]}]`, "a1 a3 a4"},
		{`[{"field":"severity","operator":"IS_BETWEEN","value":["1","1"]}]`, "a2"},
		{`[{"field":"IGNORED","operator":"IS_IN_FIELDS","value":"china"}]`, "a2"},
		{`[{"operator":"IS_IN_FIELDS","value":"1.2.3"}]`, "a3"},
		{`[{"operator":"IS_NOT_IN_FIELDS","value":"ssh"}]`, "a2 a4"},
		{`[{"field":"name.keyword","operator":"ENDS_WITH","value":"detected"}]`, "a2"},
		{`[{"field":"name.keyword","operator":"NOT_ENDS_WITH","value":"detected"}]`, "a1 a3 a4"},
		{`[{"field":"name.keyword","operator":"START_WITH","value":"SSH"}]`, "a1"},
		{`[{"field":"name.keyword","operator":"NOT_START_WITH","value":"SSH"}]`, "a2 a3 a4"},
		{`[{"field":"name","operator":"START_WITH","value":"SSH"}]`, "a1 a3"},
		{`[{"field":"@timestamp","operator":"IS_GREATER_THAN","value":"now-2h"}]`, "a1 a4"},
		{`[{"field":"@timestamp","operator":"IS_GREATER_THAN","value":"now-1h"}]`, "a4"},
		{`[{"field":"@timestamp","operator":"IS_LESS_THAN_OR_EQUALS","value":"now-2d"}]`, "a2 a3"},
		{`[{"field":"@timestamp","operator":"IS_LESS_THAN_OR_EQUALS","value":"2025-11-26T11:00:00.000Z"}]`, "a1 a2 a3"},
		{`[{"field":"status","operator":0,"value":5}]`, "a2"}, // Jackson accepts the enum ordinal
	} {
		got, r := f.matching(tc.filters)
		if r.status != 0 && r.status != 200 {
			t.Errorf("%s: status %d, %s", tc.filters, r.status, r.header.Get("X-UtmStack-error"))
			continue
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s\n  got  %q\n  want %q", tc.filters, strings.Join(got, " "), tc.want)
		}
	}
	// Every operator of the current edition is exercised above.
	var seen []string
	for op := range builderNames {
		if !strings.Contains(testSource(t), `"operator":"`+op+`"`) {
			seen = append(seen, op)
		}
	}
	if len(seen) > 0 {
		t.Errorf("operators without a case: %v", seen)
	}
}

func TestOperatorErrors(t *testing.T) {
	for _, tc := range []struct {
		filters string
		current string // part of X-UtmStack-error on a 500
		legacy  int    // status on the legacy edition
	}{
		{`[{"field":"status","operator":"FOO","value":1}]`, "not one of the values accepted for Enum class", 400},
		{`[{"field":"status","operator":99,"value":1}]`, "index value outside legal index range", 400},
		{`{"field":"status"}`, "Cannot deserialize value of type `java.util.ArrayList", 400},
		{`[{"field":"status","operator":"IS_ONE_OF","value":"x"}]`, "buildIsOneOfOperator: class java.lang.String cannot be cast to class java.util.List", 500},
		{`[{"field":"tags","operator":"IS_ONE_OF_TERMS","value":[1]}]`, "cannot be cast to class java.lang.String", 500},
		{`[{"field":"@timestamp","operator":"IS_BETWEEN","value":["now-1d"]}]`, "buildIsBetweenOperator", 500},
		{`[{"field":"status","operator":"IS"}]`, "buildIsOperator: Filter value is missing", 500},
		{`[{"field":"status","operator":"IS","value":[1,2]}]`, "buildIsOperator", 500},
		{`[{"operator":"EXIST"}]`, "Filter field is missing", 500},
		{`[{"field":"status"}]`, "SearchUtil.toQuery", 500},
		{`[{"field":"status","operator":"IS","value":"abc"}]`, `For input string: "abc"`, 500},
		{`[{"field":"@timestamp","operator":"IS_BETWEEN","value":["yesterday","now"]}]`, "failed to parse date field [yesterday]", 500},
		{`[{"field":"status","operator":"ENDS_WITH","value":"2"}]`, "Can only use wildcard queries on keyword and text fields - not on [status] which is of type [long]", 500},
		{`[{"field":"status","operator":"IS_GREATER_THAN","value":"1"}]`, "does not support custom formats", 500},
		{`[{"field":"name","operator":"CONTAIN","value":"a AND AND b"}]`, "Failed to parse query", 500},
	} {
		cur := newFixture(t, Options{InternalKey: "k", Alerts: sampleAlerts()})
		_, r := cur.matching(tc.filters)
		if r.status != 500 || r.body != "" || !strings.Contains(r.header.Get("X-UtmStack-error"), tc.current) {
			t.Errorf("current %s: %d %q, want 500 with %q", tc.filters, r.status, r.header.Get("X-UtmStack-error"), tc.current)
		}
		leg := newFixture(t, Options{Edition: EditionLegacy, InternalKey: "k", Alerts: sampleAlerts()})
		_, r = leg.matching(tc.filters)
		if r.status != tc.legacy {
			t.Errorf("legacy %s: status %d, want %d", tc.filters, r.status, tc.legacy)
		}
		if tc.legacy == 400 && r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("legacy %s: Content-Type %q", tc.filters, r.header.Get("Content-Type"))
		}
	}
	// IS_ONE_OF_TERMS_OR is newer than the legacy enum.
	leg := newFixture(t, Options{Edition: EditionLegacy, InternalKey: "k", Alerts: sampleAlerts()})
	if _, r := leg.matching(`[{"field":"id.keyword","operator":"IS_ONE_OF_TERMS_OR","value":["a1"]}]`); r.status != 400 {
		t.Errorf("legacy IS_ONE_OF_TERMS_OR: status %d, want 400", r.status)
	}
}
