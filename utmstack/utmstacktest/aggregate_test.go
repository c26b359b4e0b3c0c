package utmstacktest

import (
	"strings"
	"testing"
)

// aggAlerts: status 2 ×3, 3 ×2, 5 ×2, 1 ×1, 10 ×1 and one without status;
// seven countries; tags as arrays.
func aggAlerts() []Alert {
	var as []Alert
	add := func(status any, country string, tags ...string) {
		a := Alert{"id": len(as), "name": "Rule " + country}
		if status != nil {
			a["status"] = status
		}
		if country != "" {
			a["adversary"] = map[string]any{"geolocation": map[string]any{"countryCode": country}}
		}
		if tags != nil {
			a["tags"] = tags
		}
		as = append(as, a)
	}
	add(2, "US", "False positive", "VPN")
	add(2, "US", "VPN", "VPN")
	add(2, "CN")
	add(3, "RU")
	add(3, "DE")
	add(5, "BR")
	add(5, "IN", "False positive")
	add(1, "FR")
	add(10, "")
	add(nil, "")
	return as
}

func (f *fixture) counts(field, filters, extra string) string {
	f.t.Helper()
	r := f.countBy(field, filters, extra, "Utm-Internal-Key", "k")
	wantStatus(f.t, r, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("Content-Type %q", ct)
	}
	return r.body
}

func TestValuesWithCount(t *testing.T) {
	f := newFixture(t, Options{InternalKey: "k", Alerts: aggAlerts()})
	for _, tc := range []struct {
		name, field, filters, extra, want string
	}{
		{"by count, ties by key", "status", "", `,"top":10,"orderByCount":true`, `{"2":3,"3":2,"5":2,"1":1,"10":1}`},
		{"by count ascending", "status", "", `,"top":10,"orderByCount":true,"sortAsc":true`, `{"1":1,"10":1,"3":2,"5":2,"2":3}`},
		{"by key descending is the default order", "status", "", `,"top":10`, `{"10":1,"5":2,"3":2,"2":3,"1":1}`},
		{"by key ascending", "status", "", `,"top":10,"sortAsc":true`, `{"1":1,"2":3,"3":2,"5":2,"10":1}`},
		{"top", "status", "", `,"top":2,"orderByCount":true`, `{"2":3,"3":2}`},
		{"top defaults to 5", "adversary.geolocation.countryCode.keyword", "", `,"orderByCount":true`, `{"US":2,"BR":1,"CN":1,"DE":1,"FR":1}`},
		{"top null is the default", "adversary.geolocation.countryCode.keyword", "", `,"top":null,"orderByCount":true`, `{"US":2,"BR":1,"CN":1,"DE":1,"FR":1}`},
		{"strings by key", "adversary.geolocation.countryCode.keyword", "", `,"top":3,"sortAsc":true`, `{"BR":1,"CN":1,"DE":1}`},
		{"arrays count each element once per document", "tags.keyword", "", `,"top":10,"orderByCount":true`, `{"False positive":2,"VPN":2}`},
		{"filtered", "status", `[{"field":"tags","operator":"IS_NOT","value":"False positive"}]`, `,"top":10,"orderByCount":true`, `{"2":2,"3":2,"1":1,"5":1,"10":1}`},
		{"nothing matches", "status", `[{"field":"status","operator":"IS","value":42}]`, `,"top":10`, `{}`},
		{"unknown field", "no.such.field", "", `,"top":10`, `{}`},
		{"null filters", "status", "null", `,"top":1,"orderByCount":true`, `{"2":3}`},
		{"top as a string", "status", "", `,"top":"1","orderByCount":"true"`, `{"2":3}`},
	} {
		if got := f.counts(tc.field, tc.filters, tc.extra); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestValuesWithCountErrors(t *testing.T) {
	const prefix = "ElasticsearchResource.getFieldValuesWithCount: "
	for _, tc := range []struct {
		name, body, want string
	}{
		{"text field without .keyword", `{"field":"name","index":"v11-alert-*","top":5}`, "Fielddata is disabled on text fields"},
		{"null field", `{"index":"v11-alert-*","top":5}`, "The Field parameter must not be null or empty"},
		{"empty index", `{"field":"status","index":"","top":5}`, "The Index parameter must not be null or empty"},
		{"concrete index that does not exist", `{"field":"status","index":"alert-2025.01","top":5}`, "no such index [alert-2025.01]"},
		{"top zero", `{"field":"status","index":"v11-alert-*","top":0}`, "[size] must be greater than 0"},
	} {
		f := newFixture(t, Options{InternalKey: "k", Alerts: aggAlerts()})
		r := f.do("POST", dataPath, tc.body, "Utm-Internal-Key", "k")
		wantStatus(t, r, 500)
		got := r.header.Get("X-UtmStack-error")
		if !strings.HasPrefix(got, prefix) || !strings.Contains(got, tc.want) || r.body != "" {
			t.Errorf("%s: X-UtmStack-error %q, body %q; want %q", tc.name, got, r.body, tc.want)
		}
	}
	// A missing index fails @NotNull: a 400 on both editions, with the
	// message in X-UtmStack-error on v11.0.x and as problem+json before.
	// Malformed JSON is Jackson's: the catch-all 500 on v11.0.x.
	cur := newFixture(t, Options{InternalKey: "k", Alerts: aggAlerts()})
	r := cur.do("POST", dataPath, `{"field":"status","top":5}`, "Utm-Internal-Key", "k")
	wantStatus(t, r, 400)
	if got := r.header.Get("X-UtmStack-error"); got != "must not be null" || r.body != "" {
		t.Errorf("current missing index: X-UtmStack-error %q, body %q; want \"must not be null\" and no body", got, r.body)
	}
	wantStatus(t, cur.do("POST", dataPath, `{"field":"status",`, "Utm-Internal-Key", "k"), 500)
	leg := newFixture(t, Options{Edition: EditionLegacy, InternalKey: "k", Alerts: aggAlerts()})
	r = leg.do("POST", dataPath, `{"field":"status","top":5}`, "Utm-Internal-Key", "k")
	wantStatus(t, r, 400)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" || !strings.Contains(r.body, `"fieldErrors":[{"objectName":"propertyValuesWithCountRequest","field":"index","message":"must not be null"}]`) {
		t.Errorf("legacy missing index: %s %s", ct, r.body)
	}
	wantStatus(t, leg.do("POST", dataPath, `{"field":"status",`, "Utm-Internal-Key", "k"), 400)
}

func TestIndexPattern(t *testing.T) {
	f := newFixture(t, Options{InternalKey: "k", Alerts: aggAlerts()})
	for index, want := range map[string]string{
		"v11-alert-*":         `{"2":3}`,
		"v11-*":               `{"2":3}`,
		"*":                   `{"2":3}`,
		"alert-*":             `{}`, // a v10 pattern on a v11 install
		"other-*,v11-alert-*": `{"2":3}`,
	} {
		r := f.do("POST", dataPath, `{"field":"status","index":"`+index+`","top":1,"orderByCount":true}`, "Utm-Internal-Key", "k")
		if r.status != 200 || r.body != want {
			t.Errorf("index %s: %d %s, want %s", index, r.status, r.body, want)
		}
	}
	v10 := newFixture(t, Options{InternalKey: "k", Alerts: aggAlerts(), IndexPattern: "alert-*"})
	if got := v10.counts("status", "", `,"top":1,"orderByCount":true`); got != `{}` {
		t.Errorf("v11 pattern on a v10 install: %s, want {}", got)
	}
	r := v10.do("POST", dataPath, `{"field":"status","index":"alert-*","top":1,"orderByCount":true}`, "Utm-Internal-Key", "k")
	if r.body != `{"2":3}` {
		t.Errorf("v10 pattern: %s", r.body)
	}
}

func TestNumericAndBooleanKeys(t *testing.T) {
	f := newFixture(t, Options{InternalKey: "k", Alerts: []Alert{
		{"score": 2.5, "flag": true, "@timestamp": "2025-11-26T10:00:00Z"},
		{"score": 3.0, "flag": false, "@timestamp": "2025-11-26T10:00:00Z"},
		{"score": 2.5, "flag": true},
	}})
	for field, want := range map[string]string{
		"score":      `{"2.5":2,"3.0":1}`,
		"flag":       `{"true":2,"false":1}`,
		"@timestamp": `{"2025-11-26T10:00:00.000Z":2}`,
	} {
		if got := f.counts(field, "", `,"top":10,"orderByCount":true`); got != want {
			t.Errorf("%s: %s, want %s", field, got, want)
		}
	}
}
