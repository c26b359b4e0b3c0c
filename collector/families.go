package collector

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
)

// A round's metrics are built straight as the protobuf families the encoders
// read, not collected through a registry. For the ~65 series of the built-in
// set, a registry's Gather cost about 100 µs and 76 KB per scrape (two
// 1000-slot channels, a goroutine, a const metric and its checks per series),
// some 8 % of a sequential scrape. What the registry checked is kept: the
// families and series sorted as it sorts them, no series twice, label values
// valid UTF-8. TestRoundFamiliesMatchRegistry compares the two.

// roundFamily is one of a round's metric families. All are gauges.
type roundFamily struct {
	name, help string
	labels     []string // label names in emit order: query first
	index      int      // position in roundFamilies
}

// The round's families, sorted by name as a registry sorts them.
var roundFamilies = []*roundFamily{
	alertsFamily, alertsByCountryFamily, alertsBySeverityFamily, alertsByStatusFamily,
	queryDurationFamily, queryLastSuccessFamily, queryUpFamily, upFamily,
}

func init() {
	for i, f := range roundFamilies {
		f.index = i
	}
}

// roundSeries emits every series of a round's result: second is the value of
// the family's second label, if it has one.
func roundSeries(result *roundResult, successes map[string]time.Time, emit func(f *roundFamily, value float64, query, second string)) {
	emit(upFamily, boolValue(result.up), "", "")
	for _, q := range result.queries {
		emit(queryUpFamily, boolValue(q.ok), q.name, "")
		emit(queryDurationFamily, q.duration.Seconds(), q.name, "")
		var lastSuccess float64
		if ts, ok := successes[q.name]; ok {
			lastSuccess = float64(ts.UnixNano()) / 1e9
		}
		emit(queryLastSuccessFamily, lastSuccess, q.name, "")
		if !q.ok {
			// A failed query's data is left out, never served stale.
			continue
		}
		emit(alertsFamily, float64(q.total), q.name, "")
		for kind, values := range q.series {
			for _, v := range values {
				emit(breakdownFamilies[kind], float64(v.count), q.name, v.label)
			}
		}
	}
}

// buildRoundFamilies returns a round's families, sorted by name, each with its
// series sorted by label values. A series that cannot be exported (a label
// value that is not UTF-8, a series seen twice) is left out and named in the
// error; the rest are still returned, as a registry would.
func buildRoundFamilies(result *roundResult, successes map[string]time.Time) ([]*dto.MetricFamily, error) {
	metrics := make([][]*dto.Metric, len(roundFamilies))
	var errs []error
	roundSeries(result, successes, func(f *roundFamily, value float64, query, second string) {
		s := newGaugeSeries(f, value, query, second)
		if s == nil {
			errs = append(errs, fmt.Errorf("%s{query=%q} %q: label value is not valid UTF-8", f.name, query, second))
			return
		}
		metrics[f.index] = append(metrics[f.index], s)
	})
	families := make([]*dto.MetricFamily, 0, len(roundFamilies))
	for _, f := range roundFamilies {
		ms := metrics[f.index]
		if len(ms) == 0 {
			continue
		}
		slices.SortStableFunc(ms, compareLabelValues) // stable: a duplicate keeps the first, as a registry does
		ms = slices.CompactFunc(ms, func(a, b *dto.Metric) bool {
			if compareLabelValues(a, b) != 0 {
				return false
			}
			errs = append(errs, fmt.Errorf("%s%s: series exported twice", f.name, labelString(b)))
			return true
		})
		families = append(families, &dto.MetricFamily{
			Name: &f.name, Help: &f.help, Type: dto.MetricType_GAUGE.Enum(), Metric: ms,
		})
	}
	return families, errors.Join(errs...)
}

// gaugeSeries is one series with everything it points to, in one allocation.
type gaugeSeries struct {
	metric dto.Metric
	gauge  dto.Gauge
	value  float64
	pairs  [2]dto.LabelPair
	labels [2]*dto.LabelPair
	values [2]string
}

// newGaugeSeries builds a series of f, its labels sorted by name as the text
// and protobuf formats expect. It returns nil for a label value that is not
// valid UTF-8.
func newGaugeSeries(f *roundFamily, value float64, query, second string) *dto.Metric {
	s := &gaugeSeries{value: value}
	s.gauge.Value = &s.value
	s.metric.Gauge = &s.gauge
	s.values = [2]string{query, second}
	for i := range f.labels {
		if !utf8.ValidString(s.values[i]) {
			return nil
		}
		s.pairs[i].Name, s.pairs[i].Value = &f.labels[i], &s.values[i]
		s.labels[i] = &s.pairs[i]
	}
	if len(f.labels) == 2 && f.labels[1] < f.labels[0] {
		s.labels[0], s.labels[1] = s.labels[1], s.labels[0]
	}
	s.metric.Label = s.labels[:len(f.labels)]
	return &s.metric
}

// compareLabelValues orders series as client_golang's registry does: by
// their label values, label by label in the order of the (sorted) names.
func compareLabelValues(a, b *dto.Metric) int {
	if c := cmp.Compare(len(a.Label), len(b.Label)); c != 0 {
		return c
	}
	for i, lp := range a.Label {
		if c := strings.Compare(lp.GetValue(), b.Label[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

func labelString(m *dto.Metric) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, lp := range m.Label {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", lp.GetName(), lp.GetValue())
	}
	b.WriteByte('}')
	return b.String()
}
