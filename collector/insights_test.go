package collector

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// ruleAlerts are open alerts of three rules and two data sources, one
// without a data source and one whose rule name is not valid UTF-8 and
// longer than a label value may be.
func ruleAlerts() []utmstacktest.Alert {
	long := "\xffbad " + strings.Repeat("x", 200)
	at := func(ago time.Duration) string { return epoch.Add(-ago).Format(time.RFC3339Nano) }
	return []utmstacktest.Alert{
		{"@timestamp": at(50 * time.Minute), "id": "1", "status": 2, "severity": 3, "name": "Brute force", "dataSource": "fw-1"},
		{"@timestamp": at(40 * time.Minute), "id": "2", "status": 2, "severity": 3, "name": "Brute force", "dataSource": "fw-1"},
		{"@timestamp": at(30 * time.Minute), "id": "3", "status": 2, "severity": 2, "name": "Brute force", "dataSource": "fw-2"},
		{"@timestamp": at(20 * time.Minute), "id": "4", "status": 2, "severity": 1, "name": "Port scan", "dataSource": "fw-2"},
		{"@timestamp": at(10 * time.Minute), "id": "5", "status": 2, "severity": 1, "name": "Port scan"},
		{"@timestamp": at(5 * time.Minute), "id": "6", "status": 2, "severity": 1, "name": long, "dataSource": ""},
	}
}

func TestBreakdownsByAnyFieldKeepTheTopAndSumTheRest(t *testing.T) {
	h := newHarness(t, ruleAlerts(), `breakdowns:
  rule: {field: name.keyword, top: 1}
queries:
  - {name: open, by: [rule, data_source], ages: [oldest, newest]}
`)
	cut := "\ufffdbad " + strings.Repeat("x", 123) // 128 characters
	h.scrape(t, `
# HELP utmstack_alerts_by_rule Alerts matching the query, by name.keyword: the 1 most frequent values, and other for every other alert (those without the field included).
# TYPE utmstack_alerts_by_rule gauge
utmstack_alerts_by_rule{query="open",rule="Brute force"} 3
utmstack_alerts_by_rule{query="open",rule="other"} 3
# HELP utmstack_alerts_by_data_source Alerts matching the query, by dataSource.keyword: the 10 most frequent values, and other for every other alert (those without the field included).
# TYPE utmstack_alerts_by_data_source gauge
utmstack_alerts_by_data_source{data_source="fw-1",query="open"} 2
utmstack_alerts_by_data_source{data_source="fw-2",query="open"} 2
utmstack_alerts_by_data_source{data_source="other",query="open"} 1
utmstack_alerts_by_data_source{data_source="unknown",query="open"} 1
# HELP utmstack_alerts_oldest_timestamp_seconds Unix time (@timestamp) of the oldest alert matching the query; absent when none matches.
# TYPE utmstack_alerts_oldest_timestamp_seconds gauge
utmstack_alerts_oldest_timestamp_seconds{query="open"} `+seconds(epoch.Add(-50*time.Minute))+`
# HELP utmstack_alerts_newest_timestamp_seconds Unix time (@timestamp) of the newest alert matching the query; absent when none matches.
# TYPE utmstack_alerts_newest_timestamp_seconds gauge
utmstack_alerts_newest_timestamp_seconds{query="open"} `+seconds(epoch.Add(-5*time.Minute))+`
`, "utmstack_alerts_by_rule", "utmstack_alerts_by_data_source", "utmstack_alerts_oldest_timestamp_seconds", "utmstack_alerts_newest_timestamp_seconds")

	// With a top that keeps every value, the long name appears cut.
	h = newHarness(t, ruleAlerts(), "queries: [{name: open, by: [rule]}]\n")
	series, body, _ := promScrape(t, h, "")
	if series[`utmstack_alerts_by_rule{query="open",rule="`+cut+`"}`] != 1 || series[`utmstack_alerts_by_rule{query="open",rule="other"}`] != 0 {
		t.Fatalf("a rule name that is not UTF-8 and too long is not exported as %q:\n%s", cut, body)
	}
}

func seconds(t time.Time) string { return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'g', -1, 64) }

func TestAgesAbsentWhenNoAlertMatches(t *testing.T) {
	h := newHarness(t, ruleAlerts(), `queries:
  - {name: closed, filters: [{field: status, operator: IS, value: 5}], ages: [oldest, newest]}
`)
	series, body, _ := promScrape(t, h, "")
	if series[`utmstack_query_up{query="closed"}`] != 1 || series[`utmstack_alerts{query="closed"}`] != 0 {
		t.Fatalf("a query that matches nothing failed:\n%s", body)
	}
	if strings.Contains(body, "utmstack_alerts_oldest_timestamp_seconds{") || strings.Contains(body, "utmstack_alerts_newest_timestamp_seconds{") {
		t.Fatalf("an age is exported for a query without alerts:\n%s", body)
	}
	// An install that never raised an alert has no @timestamp mapped at all,
	// and UTMStack's search fails for the sort: that is no alert, not a failure.
	h = newHarness(t, nil, "queries: [{name: all, ages: [newest]}]\n")
	if series, body, _ := promScrape(t, h, ""); series[`utmstack_query_up{query="all"}`] != 1 ||
		strings.Contains(body, "utmstack_alerts_newest_timestamp_seconds{") {
		t.Fatalf("an empty install:\n%s", body)
	}
}

// An odd answer fails the query (or the incident counts) with a message that
// says what was wrong, and never the scrape.
func TestOddAnswersFailOnlyTheirPart(t *testing.T) {
	for _, tc := range []struct {
		name, path, answer, query, logged string
		header                            map[string]string
	}{
		{"document without @timestamp", searchPath, `[{"id":"1"}]`, "all", "the alert document has no @timestamp", nil},
		{"timestamp that does not parse", searchPath, `[{"@timestamp":"yesterday"}]`, "all", `the alert's @timestamp \"yesterday\": is not an RFC 3339 time`, nil},
		{"search answer not an array", searchPath, `{"hits":[]}`, "all", "expected a JSON array of alert documents", nil},
		{"count header not a number", incidentsPath, `[]`, "incidents", `X-Total-Count is \"many\", expected a whole number of incidents`,
			map[string]string{"X-Total-Count": "many"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, ruleAlerts(), "queries:\n  - {name: all, ages: [newest]}\n  - {name: plain}\n")
			h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != tc.path {
					return false
				}
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.answer))
				return true
			})
			series, body, _ := promScrape(t, h, "")
			failed := `utmstack_query_up{query="all"}`
			if tc.query == "incidents" {
				failed = "utmstack_incidents_up"
			} else if series["utmstack_incidents_up"] != 1 {
				t.Errorf("the incident counts failed with the query:\n%s", body)
			}
			if series[failed] != 0 || series[`utmstack_query_up{query="plain"}`] != 1 || series["utmstack_up"] != 1 {
				t.Fatalf("want only %s down:\n%s", failed, body)
			}
			if !strings.Contains(h.logs.String(), tc.logged) {
				t.Fatalf("the log does not say %q:\n%s", tc.logged, h.logs.String())
			}
		})
	}
}

func TestIncidentsByStatus(t *testing.T) {
	h := newHarness(t, nil, "")
	var incidents []utmstacktest.Incident
	for i, status := range []string{"OPEN", "OPEN", "OPEN", "IN_REVIEW", "COMPLETED", "COMPLETED"} {
		incidents = append(incidents, utmstacktest.Incident{ID: int64(i + 1), Name: "incident", Status: status, Severity: 2, Created: epoch})
	}
	h.fake.SetIncidents(incidents)
	h.scrape(t, `
# HELP utmstack_incidents UTMStack incidents by status, all time.
# TYPE utmstack_incidents gauge
utmstack_incidents{status="completed"} 2
utmstack_incidents{status="in_review"} 1
utmstack_incidents{status="merged"} 0
utmstack_incidents{status="open"} 3
# HELP utmstack_incidents_up 1 when the incident counts were read during this scrape.
# TYPE utmstack_incidents_up gauge
utmstack_incidents_up 1
`, "utmstack_incidents", "utmstack_incidents_up")

	// incidents: false asks nothing and exports nothing of them.
	h = newHarness(t, nil, "incidents: false\n")
	if _, body, _ := promScrape(t, h, ""); strings.Contains(body, "utmstack_incidents") || h.fake.Requests(http.MethodGet, incidentsPath) != 0 {
		t.Fatalf("incidents: false still counts them:\n%s", body)
	}
}

// A user who may not read incidents gets utmstack_incidents_up 0 and one
// warning; the alert queries go on, and no credential backoff starts.
func TestIncidentsForbiddenWarnsOnceAndHoldsNothingBack(t *testing.T) {
	h := newHarness(t, ruleAlerts(), "")
	h.refuse(pathIs(incidentsPath), http.StatusForbidden)
	for range 3 {
		series, body, _ := promScrape(t, h, "")
		if series["utmstack_incidents_up"] != 0 || series["utmstack_up"] != 1 || series[`utmstack_query_up{query="all"}`] != 1 ||
			series[`utmstack_exporter_auth_failures_total{reason="forbidden"}`] != 0 {
			t.Fatalf("a 403 on incidents:\n%s", body)
		}
		if strings.Contains(body, "utmstack_incidents{") {
			t.Fatalf("incident counts exported after a 403:\n%s", body)
		}
		h.clock.Advance(time.Minute)
	}
	if n := strings.Count(h.logs.String(), "may not read incidents"); n != 1 {
		t.Fatalf("%d warnings about incidents over 3 scrapes, want 1:\n%s", n, h.logs.String())
	}
}

// utmstack_info comes from /management/info at most every 10 minutes, again
// after a 401, and is left out while it cannot be read.
func TestVersionReadEveryTenMinutesAndAfterA401(t *testing.T) {
	h := newHarness(t, ruleAlerts(), "")
	infos := func() int { return h.fake.Requests(http.MethodGet, "/management/info") }
	promScrape(t, h, "") // the first round reads the index totals
	series, body, _ := promScrape(t, h, "")
	if series[`utmstack_info{version="v11.0.1-community"}`] != 1 || infos() != 1 {
		t.Fatalf("%d info reads; utmstack_info:\n%s", infos(), body)
	}
	h.clock.Advance(9 * time.Minute)
	promScrape(t, h, "")
	if infos() != 1 {
		t.Fatalf("the version was read again within 10 minutes (%d reads)", infos())
	}
	h.fake.Restart() // a new signing key: the next data call gets 401
	promScrape(t, h, "")
	series, _, _ = promScrape(t, h, "")
	if infos() != 2 || series[`utmstack_info{version="v11.0.1-community"}`] != 1 {
		t.Fatalf("%d info reads after a restart, want 2", infos())
	}

	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/management/info" {
			return false
		}
		w.WriteHeader(http.StatusNotFound)
		return true
	})
	h.clock.Advance(11 * time.Minute)
	promScrape(t, h, "") // index totals are due too and come first
	series, body, _ = promScrape(t, h, "")
	if strings.Contains(body, "utmstack_info{") || series["utmstack_up"] != 1 {
		t.Fatalf("an unreadable version:\n%s", body)
	}
}

func TestIndexAlertsEveryFiveMinutes(t *testing.T) {
	h := newHarness(t, ruleAlerts(), "defaults: {window: 1h}\n")
	var counts atomic.Int64 // values-with-count calls without a filter: the index counts
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == dataPath {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if !bytes.Contains(body, []byte(`"operator"`)) {
				counts.Add(1)
			}
		}
		return false
	})
	unfiltered := func() int { return int(counts.Load()) }
	series, body, _ := promScrape(t, h, "")
	if series[`utmstack_index_alerts{index_pattern="v11-alert-*"}`] != 6 || unfiltered() != 1 {
		t.Fatalf("%d index counts:\n%s", unfiltered(), body)
	}
	h.clock.Advance(4 * time.Minute)
	if series, _, _ := promScrape(t, h, ""); series[`utmstack_index_alerts{index_pattern="v11-alert-*"}`] != 6 || unfiltered() != 1 {
		t.Fatalf("the index was counted again within 5 minutes (%d counts)", unfiltered())
	}
	h.clock.Advance(2 * time.Minute)
	promScrape(t, h, "")
	if unfiltered() != 2 {
		t.Fatalf("%d index counts after 6 minutes, want 2", unfiltered())
	}
}

// The built-in set costs at most 17 calls in any scrape: 8 breakdown
// counts, 2 alert times, 4 incident counts, one periodic read, and the
// coverage read a scrape may start (on by default; a page each here, at
// most once a minute), which runs beside it: waited for, so that its
// calls count with the scrape's.
func TestBuiltInSetCallsPerScrape(t *testing.T) {
	h := newHarness(t, ruleAlerts(), "")
	promScrape(t, h, "") // logs in
	h.readCoverage(t)
	most := 0
	for range 30 {
		before := h.fake.TotalRequests()
		promScrape(t, h, "")
		h.readCoverage(t)
		most = max(most, h.fake.TotalRequests()-before)
		h.clock.Advance(30 * time.Second)
	}
	if most != 17 {
		t.Fatalf("at most %d calls in a scrape of the built-in set, want 17", most)
	}
}

// A pattern without alerts and a field without values are each logged once
// with the fix, and again only after they recovered and broke again.
func TestEmptyPatternsAndFieldsWarnOnce(t *testing.T) {
	h := newHarness(t, nil, "queries: [{name: all, by: [country, data_source]}]\n")
	scrapeEvery := func(n int, every time.Duration) {
		for range n {
			promScrape(t, h, "")
			h.clock.Advance(every)
		}
	}
	count := func(s string) int { return strings.Count(h.logs.String(), s) }
	const patternWarning = "the index pattern holds no alert at all: a wrong index_pattern (UTMStack v11 uses v11-alert-*, v10 alert-*)"
	scrapeEvery(3, 6*time.Minute)
	if count(patternWarning) != 1 {
		t.Fatalf("%d warnings about the empty pattern over 3 index counts, want 1:\n%s", count(patternWarning), h.logs)
	}
	// Alerts whose country field is not the configured one, and without a data source.
	h.fake.SetAlerts([]utmstacktest.Alert{{"@timestamp": epoch.Add(-time.Minute).Format(time.RFC3339), "id": "1", "status": 2,
		"source": map[string]any{"countryCode": "US"}}})
	scrapeEvery(3, 6*time.Minute)
	if n := count("resolved: " + patternWarning); n != 1 {
		t.Fatalf("the pattern's recovery logged %d times, want 1:\n%s", n, h.logs)
	}
	for _, fix := range []string{"check fields.country (UTMStack v11: adversary.geolocation.countryCode.keyword, v10: source.countryCode.keyword)",
		"breakdown=data_source field=dataSource.keyword"} {
		if n := count(fix); n != 1 {
			t.Fatalf("%q logged %d times over 3 scrapes, want once:\n%s", fix, n, h.logs)
		}
	}
	h.fake.SetAlerts(nil)
	scrapeEvery(1, 6*time.Minute)
	if count(patternWarning) != 3 { // warned, resolved, warned again
		t.Fatalf("the pattern broke again but the log does not say so:\n%s", h.logs)
	}
}
