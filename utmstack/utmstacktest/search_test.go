package utmstacktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func (f *fixture) searchIDs(query, body string) ([]string, response) {
	f.t.Helper()
	r := f.do("POST", "/api/elasticsearch/search?"+query, body, "Utm-Internal-Key", "k")
	if r.status != 200 {
		return nil, r
	}
	var docs []map[string]any
	if err := json.Unmarshal([]byte(r.body), &docs); err != nil {
		f.t.Fatalf("body %q: %v", r.body, err)
	}
	ids := []string{}
	for _, d := range docs {
		ids = append(ids, fmt.Sprint(d["id"]))
	}
	return ids, r
}

func TestSearch(t *testing.T) {
	f := newFixture(t, Options{InternalKey: "k", Alerts: sampleAlerts()})
	ids, r := f.searchIDs("top=100&indexPattern=v11-alert-*&sort=@timestamp,desc", "")
	if strings.Join(ids, " ") != "a4 a1 a2 a3" {
		t.Errorf("sorted ids %v", ids)
	}
	if r.header.Get("X-Total-Count") != "4" {
		t.Errorf("X-Total-Count %q, want 4", r.header.Get("X-Total-Count"))
	}
	// page 0 and page 1 are both the first page; size 0 means 20.
	for _, q := range []string{"page=0&size=2", "page=1&size=2"} {
		ids, r := f.searchIDs("top=100&indexPattern=v11-alert-*&sort=@timestamp,asc&"+q, "[]")
		if strings.Join(ids, " ") != "a3 a2" {
			t.Errorf("%s: %v", q, ids)
		}
		if q == "page=0&size=2" && r.header.Get("Link") != `</api/elasticsearch/search?page=1&size=2>; rel="next",</api/elasticsearch/search?page=1&size=2>; rel="last",</api/elasticsearch/search?page=0&size=2>; rel="first"` {
			t.Errorf("Link %q", r.header.Get("Link"))
		}
	}
	ids, _ = f.searchIDs("top=100&indexPattern=v11-alert-*&sort=@timestamp,asc&page=2&size=2", "")
	if strings.Join(ids, " ") != "a1 a4" {
		t.Errorf("page 2: %v", ids)
	}
	if ids, _ := f.searchIDs("top=100&indexPattern=v11-alert-*&size=0", ""); len(ids) != 4 {
		t.Errorf("size=0 returned %d documents, want all 4 (size 20)", len(ids))
	}
	// top caps the total and the page.
	ids, r = f.searchIDs("top=3&indexPattern=v11-alert-*&size=25", "")
	if len(ids) != 3 || r.header.Get("X-Total-Count") != "3" {
		t.Errorf("top=3: %d docs, X-Total-Count %q", len(ids), r.header.Get("X-Total-Count"))
	}
	// Zero hits: [] without pagination headers.
	_, r = f.searchIDs("top=100&indexPattern=v11-alert-*", `[{"field":"status","operator":"IS","value":42}]`)
	if r.body != "[]" || r.header.Get("X-Total-Count") != "" || r.header.Get("Link") != "" {
		t.Errorf("zero hits: %q, headers %v", r.body, r.header)
	}
	// Echo counts.
	r = f.do("POST", "/api/elasticsearch/search?top=100&indexPattern=v11-alert-*&includeChildren=true", `[{"field":"id.keyword","operator":"IS","value":"a1"}]`, "Utm-Internal-Key", "k")
	var docs []map[string]any
	if err := json.Unmarshal([]byte(r.body), &docs); err != nil || len(docs) != 1 || docs[0]["echoes"] != float64(1) || docs[0]["hasChildren"] != true {
		t.Errorf("includeChildren: %s", r.body)
	}
}

func TestSearchErrors(t *testing.T) {
	f := newFixture(t, Options{InternalKey: "k", Alerts: sampleAlerts()})
	for q, want := range map[string]string{
		"top=100&indexPattern=v11-alert-*&sort=name,desc":     "Fielddata is disabled on text fields",
		"top=100&indexPattern=v11-alert-*&sort=nope,desc":     "No mapping found for [nope]",
		"top=10&indexPattern=v11-alert-*&page=3&size=10":      "[size] parameter cannot be negative",
		"top=20000&indexPattern=v11-alert-*&page=6&size=2000": "Result window is too large",
	} {
		_, r := f.searchIDs(q, "")
		if r.status != 500 || !strings.Contains(r.header.Get("X-UtmStack-error"), want) || !strings.HasPrefix(r.header.Get("X-UtmStack-error"), "ElasticsearchResource.search: ") {
			t.Errorf("%s: %d %q, want 500 with %q", q, r.status, r.header.Get("X-UtmStack-error"), want)
		}
	}
	_, r := f.searchIDs("indexPattern=v11-alert-*", "")
	wantStatus(t, r, 500)
	leg := newFixture(t, Options{Edition: EditionLegacy, InternalKey: "k", Alerts: sampleAlerts()})
	_, r = leg.searchIDs("indexPattern=v11-alert-*", "")
	wantStatus(t, r, 400)
}

func TestCountOpenAlerts(t *testing.T) {
	alerts := append(sampleAlerts(), Alert{"id": "a5", "status": 2, "parentId": "a4"})
	f := newFixture(t, Options{InternalKey: "k", Alerts: alerts})
	// a1 is a false positive, a5 an echo: only a4 is counted.
	if r := f.do("GET", "/api/utm-alerts/count-open-alerts", "", "Utm-Internal-Key", "k"); r.status != 200 || r.body != "1" {
		t.Errorf("count-open-alerts: %d %q, want 1", r.status, r.body)
	}
}
