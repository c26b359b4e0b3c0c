package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// Every series an answer can hold is counted: a scrape of alerts with every
// kind of value (unknown severities and statuses, more countries and rules
// than the tops keep, alerts without geolocation, both ages, every incident
// status) reaches MaxSeries exactly.
func TestMaxSeriesBoundsAScrape(t *testing.T) {
	var alerts []utmstacktest.Alert
	for i := range 40 {
		a := utmstacktest.Alert{
			"@timestamp": epoch.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339), "id": fmt.Sprint(i),
			"severity": i%5 + 1, "status": []int{1, 2, 3, 4, 5, 7}[i%6], "name": fmt.Sprintf("rule %d", i%9),
		}
		if i%7 != 0 {
			a["adversary"] = map[string]any{"geolocation": map[string]any{"countryCode": fmt.Sprintf("C%d", i%8)}}
		}
		alerts = append(alerts, a)
	}
	// Coverage off: its bound is of max_data_sources, which this fake's
	// few sources cannot reach.
	h := newHarness(t, alerts, `coverage: {data_sources: false, agents: false}
defaults: {top_countries: 3}
breakdowns: {rule: {field: name.keyword, top: 2}}
queries:
  - {name: all, by: [severity, status, country, rule], ages: [oldest, newest]}
`)
	getBody(h.server.URL, "identity") // reads the index totals; the version comes with the next round
	body := getBody(h.server.URL, "identity")
	got := 0
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "utmstack_") && (!strings.HasPrefix(line, "utmstack_exporter_") || strings.HasPrefix(line, "utmstack_exporter_target_info")) {
			got++
		}
	}
	cfg := h.exporter.Config()
	if want := MaxSeries(cfg.Queries, cfg.Incidents, cfg.Coverage); got != want {
		t.Fatalf("a scrape with every kind of value has %d series, MaxSeries says %d:\n%s", got, want, body)
	}
}
