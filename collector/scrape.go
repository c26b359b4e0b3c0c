package collector

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// served is what a scrape gets from its target: a round's result and, when
// the scrape waited for that round with others, the gathering they share.
type served struct {
	result    *roundResult
	successes map[string]time.Time
	shared    *sharedFamilies // nil: the scrape gathers alone
}

// families gathers the scrape's round with beside, once per shared round.
func (s served) families(beside prometheus.Gatherer) ([]*dto.MetricFamily, error) {
	gather := func() ([]*dto.MetricFamily, error) { return gatherRound(s.result, s.successes, beside) }
	if s.shared == nil {
		return gather()
	}
	return s.shared.gather(gather)
}

// gatherRound builds a round's metrics and gathers, beside them, the
// process-wide (or probe target's) registry. Each list has been checked on its
// own, and their names never overlap, so a merge of the two sorted lists is
// all that is left to do: prometheus.Gatherers would check every series again.
func gatherRound(result *roundResult, successes map[string]time.Time, beside prometheus.Gatherer) ([]*dto.MetricFamily, error) {
	own, err := buildRoundFamilies(result, successes)
	if beside == nil {
		return own, err
	}
	others, besideErr := beside.Gather()
	merged, mergeErr := mergeFamilies(own, others)
	return merged, errors.Join(err, besideErr, mergeErr)
}

// mergeFamilies merges two lists of families sorted by name into one. A name
// in both is a programming error: the second family is dropped and named.
func mergeFamilies(a, b []*dto.MetricFamily) ([]*dto.MetricFamily, error) {
	out := make([]*dto.MetricFamily, 0, len(a)+len(b))
	var err error
	for len(a) > 0 && len(b) > 0 {
		switch c := strings.Compare(a[0].GetName(), b[0].GetName()); {
		case c < 0:
			out, a = append(out, a[0]), a[1:]
		case c > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			err = errors.Join(err, fmt.Errorf("metric family %s is exported twice", b[0].GetName()))
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...), err
}

// sharedFamilies is the one gathering done for every scrape that waited for
// the same round. Scrapes that arrive together (several Prometheus servers,
// many probes of one target) then cost one collection of the Go and process metrics and
// one construction of the series, not one each: a round's answer is the same
// for all of them but for utmstack_scrape_duration_seconds.
//
// The families are read by several encoders at once and never modified.
type sharedFamilies struct {
	once sync.Once
	mfs  []*dto.MetricFamily
	err  error
}

func (s *sharedFamilies) gather(gather func() ([]*dto.MetricFamily, error)) ([]*dto.MetricFamily, error) {
	s.once.Do(func() { s.mfs, s.err = gather() })
	return s.mfs, s.err
}

// scrapeDurationFamily is the metric each scrape adds to its round's.
func scrapeDurationFamily(d time.Duration) *dto.MetricFamily {
	name, help := scrapeDurationName, scrapeDurationHelp
	value := d.Seconds()
	return &dto.MetricFamily{
		Name:   &name,
		Help:   &help,
		Type:   dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &value}}},
	}
}

// withFamily returns a copy of the name-sorted mfs with f inserted in order,
// leaving mfs (possibly shared) untouched.
func withFamily(mfs []*dto.MetricFamily, f *dto.MetricFamily) []*dto.MetricFamily {
	i, _ := slices.BinarySearchFunc(mfs, f.GetName(), func(m *dto.MetricFamily, name string) int {
		return strings.Compare(m.GetName(), name)
	})
	return slices.Concat(mfs[:i], []*dto.MetricFamily{f}, mfs[i:])
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
