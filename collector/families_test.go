package collector

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// registryRound collects a round's series through client_golang's registry:
// the reference that buildRoundFamilies must match byte for byte.
type registryRound struct {
	result    *roundResult
	successes map[string]time.Time
}

func familyDesc(f *roundFamily) *prometheus.Desc {
	return prometheus.NewDesc(f.name, f.help, f.labels, nil)
}

func (r registryRound) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range roundFamilies {
		ch <- familyDesc(f)
	}
}

func (r registryRound) Collect(ch chan<- prometheus.Metric) {
	roundSeries(r.result, r.successes, func(f *roundFamily, value float64, query, second string) {
		labels := []string{query, second}[:len(f.labels)]
		ch <- prometheus.MustNewConstMetric(familyDesc(f), prometheus.GaugeValue, value, labels...)
	})
}

func familiesText(t *testing.T, mfs []*dto.MetricFamily) string {
	t.Helper()
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatalf("%s: %v", mf.GetName(), err)
		}
	}
	return b.String()
}

// sortingResult is a round whose series a careless sort would misorder:
// queries and countries out of order, a country that sorts before its query's
// name, a failed query, a label beyond ASCII.
func sortingResult() (*roundResult, map[string]time.Time) {
	return &roundResult{up: true, queries: []queryResult{
		{name: "zeta", ok: true, duration: 1500 * time.Millisecond, total: 9, series: map[string][]labelCount{
			byCountry:  {{"US", 5}, {"CN", 3}, {labelOther, 1}, {labelUnknown, 0}},
			bySeverity: {{"low", 4}, {"medium", 3}, {"high", 2}},
		}},
		{name: "alpha", ok: true, duration: 2 * time.Second, total: 7, series: map[string][]labelCount{
			byCountry: {{"ZA", 4}, {"Ñu", 2}, {labelOther, 1}, {labelUnknown, 0}},
			byStatus:  {{"open", 5}, {"completed", 2}},
		}},
		{name: "broken", ok: false, duration: 3 * time.Second},
	}}, map[string]time.Time{"zeta": epoch, "alpha": epoch.Add(-time.Minute)}
}

func TestRoundFamiliesMatchRegistry(t *testing.T) {
	h := newHarness(t, utmstacktest.DemoAlerts(epoch, 300, 1), twoQueries)
	fromFake := h.exporter.current().scrape(context.Background())
	if !fromFake.result.up {
		t.Fatal("the round against the fake failed")
	}
	sorting, sortingSuccesses := sortingResult()

	for _, c := range []struct {
		name      string
		result    *roundResult
		successes map[string]time.Time
	}{
		{"fake, two queries", fromFake.result, fromFake.successes},
		{"out of order", sorting, sortingSuccesses},
		{"down", &roundResult{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(registryRound{c.result, c.successes})
			want, err := reg.Gather()
			if err != nil {
				t.Fatalf("registry: %v", err)
			}
			got, err := buildRoundFamilies(c.result, c.successes)
			if err != nil {
				t.Fatalf("buildRoundFamilies: %v", err)
			}
			if g, w := familiesText(t, got), familiesText(t, want); g != w {
				t.Errorf("built:\n%s\nregistry:\n%s", g, w)
			}
		})
	}
}

// What a registry would refuse is left out and named, and the rest served.
func TestRoundFamiliesRefuseBadSeries(t *testing.T) {
	result := &roundResult{up: true, queries: []queryResult{{name: "all", ok: true, total: 3, series: map[string][]labelCount{
		byCountry: {{"US", 1}, {"\xff\xfe", 1}, {"US", 1}},
	}}}}
	mfs, err := buildRoundFamilies(result, nil)
	for _, want := range []string{"not valid UTF-8", `utmstack_alerts_by_country{country="US",query="all"}: series exported twice`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one containing %q", err, want)
		}
	}
	text := familiesText(t, mfs)
	if n := strings.Count(text, "utmstack_alerts_by_country{"); n != 1 {
		t.Errorf("%d country series served, want the one valid and distinct:\n%s", n, text)
	}
	if !strings.Contains(text, "utmstack_up 1") || !strings.Contains(text, `utmstack_alerts{query="all"} 3`) {
		t.Errorf("the valid series are missing:\n%s", text)
	}
}

// The families are sorted by name, as the merge with the process registry
// and the encoders expect, and each is a gauge.
func TestRoundFamiliesTableSorted(t *testing.T) {
	for i, f := range roundFamilies {
		if f.index != i {
			t.Errorf("%s: index %d at position %d", f.name, f.index, i)
		}
		if i > 0 && roundFamilies[i-1].name >= f.name {
			t.Errorf("%s listed after %s", f.name, roundFamilies[i-1].name)
		}
	}
	mfs, _ := buildRoundFamilies(sortingResult())
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s: type %v", mf.GetName(), mf.GetType())
		}
	}
	if len(mfs) != len(roundFamilies) {
		t.Errorf("%d families from a round with every kind of series, want %d", len(mfs), len(roundFamilies))
	}
}
