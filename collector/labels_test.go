package collector

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// Label values that come from UTMStack's data must never break the
// exposition format, a lint, a dashboard or the sums: whatever keys the
// aggregation answers with, unusable ones are counted as "unknown".

// answerField makes the fake answer values-with-count calls on a field
// (matched in the request body) with a raw JSON body, as the real API would
// if the indexed documents held such values; other calls get real answers.
func answerField(h *harness, answers map[string][]byte) {
	h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != dataPath {
			return false
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		for field, answer := range answers {
			if bytes.Contains(body, []byte(`"field":"`+field+`"`)) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(answer)
				return true
			}
		}
		return false
	})
}

// hundredAlerts: 100 open alerts of the last hour, none geolocated.
func hundredAlerts() []utmstacktest.Alert {
	alerts := make([]utmstacktest.Alert, 100)
	for i := range alerts {
		alerts[i] = utmstacktest.Alert{"@timestamp": epoch.Add(-time.Hour).Format(time.RFC3339),
			"id": fmt.Sprint(i), "severity": 3, "status": 2}
	}
	return alerts
}

const countryField = "adversary.geolocation.countryCode.keyword"

// lintScrape fails the test on any lint problem in one scrape's metrics.
func lintScrape(t *testing.T, h *harness) {
	t.Helper()
	problems, err := testutil.GatherAndLint(h.gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// countrySum adds up a query's country series and lists their labels.
func countrySum(series map[string]float64, query string) (float64, []string) {
	var sum float64
	var labels []string
	for _, k := range dataSeries(series, query) {
		if strings.HasPrefix(k, "utmstack_alerts_by_country{") {
			sum += series[k]
			labels = append(labels, k)
		}
	}
	return sum, labels
}

func TestHostileCountryKeysBecomeUnknown(t *testing.T) {
	// Each key is one a misbehaving shipper could index; counts are chosen
	// so every key's share is identifiable in the result.
	var b bytes.Buffer
	b.WriteString(`{`)
	entries := []struct {
		rawKey string // as it appears between the quotes of the JSON body
		count  int
		what   string
	}{
		{``, 5, "empty"},
		{strings.Repeat("A", 10<<10), 7, "10 KB"},
		{`U\u0001S`, 11, "control character"},
		{`\u001b[31mRED\u001b[0m`, 2, "terminal escape"},
		{`\n`, 1, "newline"},
		{`U\nS`, 1, "embedded newline"},
		{"\xff\xfe", 13, "invalid UTF-8 bytes"},
		{`\udc00`, 3, "lone surrogate"},
		{` US`, 2, "leading space"},
		{`US\u0000`, 1, "NUL"},
		{`\u200b`, 1, "zero-width space"},
	}
	unknown := 0
	for i, e := range entries {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"%s":%d`, e.rawKey, e.count)
		unknown += e.count
	}
	// Usable keys, one with characters the exposition format must escape.
	b.WriteString(`,"US":20,"x\"y\\z":4}`)
	seen := unknown + 20 + 4
	unknown += 100 - seen // alerts without geolocation

	h := newHarness(t, hundredAlerts(), "queries:\n  - name: all\n    by: [country]\n")
	answerField(h, map[string][]byte{countryField: b.Bytes()})

	series, body, _ := promScrape(t, h, "")
	want := map[string]float64{
		`utmstack_alerts{query="all"}`:                              100,
		`utmstack_alerts_by_country{country="US",query="all"}`:      20,
		`utmstack_alerts_by_country{country="x\"y\\z",query="all"}`: 4,
		`utmstack_alerts_by_country{country="other",query="all"}`:   0,
		`utmstack_alerts_by_country{country="unknown",query="all"}`: float64(unknown),
	}
	sum, labels := countrySum(series, "all")
	for k, v := range want {
		if got, ok := series[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if len(labels) != 4 {
		t.Errorf("country series %q, want exactly US, x\"y\\z, other and unknown", labels)
	}
	if sum != 100 {
		t.Errorf("the country values sum to %v, want the total 100", sum)
	}
	if strings.Contains(body, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") {
		t.Error("a 10 KB key reached the output")
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
	lintScrape(t, h)
}

func TestHostileSeverityAndStatusKeysBecomeUnknown(t *testing.T) {
	h := newHarness(t, hundredAlerts(), "queries:\n  - name: all\n    by: [severity, status]\n")
	answerField(h, map[string][]byte{
		"severity": []byte(`{"3":90,"":1,"\u0000":2,"` + strings.Repeat("9", 5000) + `":3,"` + "\xff" + `":4}`),
		"status":   []byte(`{"2":95,"<script>":2,"\u001b":3}`),
	})
	h.scrape(t, `
# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="all"} 100
# HELP utmstack_alerts_by_severity Alerts matching the query, by severity (low, medium, high; unknown when seen).
# TYPE utmstack_alerts_by_severity gauge
utmstack_alerts_by_severity{query="all",severity="high"} 90
utmstack_alerts_by_severity{query="all",severity="low"} 0
utmstack_alerts_by_severity{query="all",severity="medium"} 0
utmstack_alerts_by_severity{query="all",severity="unknown"} 10
# HELP utmstack_alerts_by_status Alerts matching the query, by status (automatic_review, open, in_review, completed; ignored and unknown when seen).
# TYPE utmstack_alerts_by_status gauge
utmstack_alerts_by_status{query="all",status="automatic_review"} 0
utmstack_alerts_by_status{query="all",status="completed"} 0
utmstack_alerts_by_status{query="all",status="in_review"} 0
utmstack_alerts_by_status{query="all",status="open"} 95
utmstack_alerts_by_status{query="all",status="unknown"} 5
`, "utmstack_alerts", "utmstack_alerts_by_severity", "utmstack_alerts_by_status")
	lintScrape(t, h)
}

func TestManyCountriesStayWithinTopCountries(t *testing.T) {
	// 500 distinct, perfectly valid codes (as many buckets as the country
	// call asks; more would be refused): the series stay at
	// top_countries + other + unknown.
	var b bytes.Buffer
	b.WriteString(`{`)
	for i := range 500 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"C%03d":%d`, i, 1+i%7)
	}
	b.WriteString(`}`)
	h := newHarness(t, hundredAlerts(), "defaults:\n  top_countries: 20\nqueries:\n  - name: all\n    by: [country]\n")
	answerField(h, map[string][]byte{
		countryField: b.Bytes(),
		"status":     []byte(`{"2":5000}`),
	})
	series, body, _ := promScrape(t, h, "")
	sum, labels := countrySum(series, "all")
	if len(labels) != 22 {
		t.Errorf("%d country series, want 22 (20 + other + unknown):\n%s", len(labels), body)
	}
	if sum != 5000 || series[`utmstack_alerts{query="all"}`] != 5000 {
		t.Errorf("country values sum to %v, total %v; want both 5000", sum, series[`utmstack_alerts{query="all"}`])
	}
	lintScrape(t, h)
}
