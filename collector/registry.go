package collector

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// Registry holds the metrics served beside a round: the Go, process and
// version metrics and the exporter's own counters. Collectors are registered
// through a prometheus.Registry, which checks their descriptors as usual, but
// a gathering skips that registry's per-call machinery (two 1000-slot
// channels, a goroutine per collector, a hash per series): about 16 µs and
// 34 KB for any gathering, plus about 1 µs per series, which for the ~45
// series here was about a fifth of a lone scraper's allocations
// (BENCHMARKS.md). What the registry checks when gathering is kept: a
// family's type and help are those of its first series, no series twice,
// label names valid, label values UTF-8, families and series sorted as it
// sorts them. TestRegistryMatchesPrometheusRegistry compares the two.
//
// A family's name, help and unit are known to client_golang's Desc alone;
// they are read once per Desc from its String form. Should a client_golang
// release change that form, Gather falls back to the prometheus.Registry.
type Registry struct {
	checked *prometheus.Registry

	mu         sync.RWMutex
	collectors []prometheus.Collector // copy on write: a gathering keeps its slice
	descs      map[*prometheus.Desc]*descFamily
}

// descFamily is what a Desc says of the family its series belong to.
type descFamily struct {
	name, help, unit string
	err              error // the Desc's String form could not be read
}

// maxCachedDescs bounds the Desc cache: a collector that makes new Descs on
// every collection would otherwise grow it for ever.
const maxCachedDescs = 4096

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{checked: prometheus.NewRegistry(), descs: map[*prometheus.Desc]*descFamily{}}
}

// Register registers c as prometheus.Registry.Register does, with its errors.
func (r *Registry) Register(c prometheus.Collector) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checked.Register(c); err != nil {
		return err
	}
	r.collectors = append(slices.Clip(r.collectors), c)
	return nil
}

// MustRegister registers cs and panics on the first error, as
// prometheus.Registry.MustRegister does.
func (r *Registry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// Unregister removes c, the collector that was registered, and reports
// whether it was there.
func (r *Registry) Unregister(c prometheus.Collector) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.collectors, func(registered prometheus.Collector) bool { return registered == c })
	if i < 0 || !r.checked.Unregister(c) {
		return false
	}
	r.collectors = slices.Delete(slices.Clone(r.collectors), i, i+1)
	return true
}

// Gather collects every registered collector. Series that cannot be exported
// are left out and named in the error; the rest are returned, as a
// prometheus.Registry does.
func (r *Registry) Gather() ([]*dto.MetricFamily, error) {
	r.mu.RLock()
	collectors := r.collectors
	r.mu.RUnlock()

	metrics := make(chan prometheus.Metric, 64)
	collectErrs := make(chan error, 1)
	go func() {
		defer close(metrics)
		var errs []error
		for _, c := range collectors {
			errs = append(errs, collectSafely(c, metrics))
		}
		collectErrs <- errors.Join(errs...)
	}()

	byName := map[string]*dto.MetricFamily{}
	var errs []error
	for m := range metrics {
		f := r.family(m.Desc())
		if f.err != nil {
			for range metrics { // let the collectors finish
			}
			<-collectErrs
			return r.checked.Gather()
		}
		if err := addSeries(byName, f, m); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, <-collectErrs)

	families := make([]*dto.MetricFamily, 0, len(byName))
	for _, mf := range byName {
		if len(mf.Metric) == 0 {
			continue // its only series were refused
		}
		mf.Metric = sortSeries(mf.GetName(), mf.Metric, &errs)
		families = append(families, mf)
	}
	slices.SortFunc(families, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return families, errors.Join(errs...)
}

// collectSafely runs c.Collect, turning a panic into an error as the
// prometheus.Registry does, so one broken collector cannot stop the process.
func collectSafely(c prometheus.Collector, ch chan<- prometheus.Metric) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("collector %T panicked: %v", c, p)
		}
	}()
	c.Collect(ch)
	return nil
}

// addSeries adds m to its family in byName, creating the family from f and
// m's type, after the checks a prometheus.Registry makes of each series.
func addSeries(byName map[string]*dto.MetricFamily, f *descFamily, m prometheus.Metric) error {
	series := &dto.Metric{}
	if err := m.Write(series); err != nil {
		return fmt.Errorf("collecting %s: %w", f.name, err)
	}
	kind, ok := seriesType(series)
	if !ok {
		return fmt.Errorf("collected %s series of no type", f.name)
	}
	mf := byName[f.name]
	if mf == nil {
		mf = &dto.MetricFamily{Name: &f.name, Help: &f.help, Type: kind.Enum()}
		if f.unit != "" {
			mf.Unit = &f.unit
		}
		byName[f.name] = mf
	}
	if mf.GetType() != kind {
		return fmt.Errorf("collected %s%s as a %s; its family is a %s", f.name, labelString(series), kind, mf.GetType())
	}
	if mf.GetHelp() != f.help {
		return fmt.Errorf("collected %s%s with help %q; its family has %q", f.name, labelString(series), f.help, mf.GetHelp())
	}
	if err := checkLabels(series); err != nil {
		return fmt.Errorf("collected %s%s: %w", f.name, labelString(series), err)
	}
	mf.Metric = append(mf.Metric, series)
	return nil
}

func seriesType(m *dto.Metric) (dto.MetricType, bool) {
	switch {
	case m.Gauge != nil:
		return dto.MetricType_GAUGE, true
	case m.Counter != nil:
		return dto.MetricType_COUNTER, true
	case m.Summary != nil:
		return dto.MetricType_SUMMARY, true
	case m.Untyped != nil:
		return dto.MetricType_UNTYPED, true
	case m.Histogram != nil:
		return dto.MetricType_HISTOGRAM, true
	}
	return 0, false
}

// checkLabels checks a series' labels as a prometheus.Registry does, and sorts
// them by name (on a copy: a written series is not to be modified) when the
// collector did not.
func checkLabels(m *dto.Metric) error {
	if !slices.IsSortedFunc(m.Label, compareLabelNames) {
		m.Label = slices.SortedFunc(slices.Values(m.Label), compareLabelNames)
	}
	for i, lp := range m.Label {
		name := lp.GetName()
		switch {
		case i > 0 && name == m.Label[i-1].GetName():
			return fmt.Errorf("label %s twice", name)
		case !model.UTF8Validation.IsValidLabelName(name) || strings.HasPrefix(name, model.ReservedLabelPrefix):
			return fmt.Errorf("invalid label name %q", name)
		case m.Summary != nil && name == model.QuantileLabel:
			return fmt.Errorf("a summary with its own %s label", name)
		case !utf8.ValidString(lp.GetValue()):
			return fmt.Errorf("label %s: value is not valid UTF-8", name)
		}
	}
	return nil
}

func compareLabelNames(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) }

// family returns what d says of its family, reading d's String form the first
// time d is seen.
func (r *Registry) family(d *prometheus.Desc) *descFamily {
	r.mu.RLock()
	f := r.descs[d]
	r.mu.RUnlock()
	if f != nil {
		return f
	}
	f = parseDesc(d.String())
	r.mu.Lock()
	if len(r.descs) >= maxCachedDescs {
		clear(r.descs)
	}
	r.descs[d] = f
	r.mu.Unlock()
	return f
}

// parseDesc reads the name, help and unit from a Desc's String form:
// Desc{fqName: "…", help: "…", unit: "…", constLabels: …}, each quoted with %q.
func parseDesc(s string) *descFamily {
	f := &descFamily{}
	rest, ok := strings.CutPrefix(s, "Desc{")
	for _, field := range []struct {
		key string
		dst *string
	}{{"fqName: ", &f.name}, {", help: ", &f.help}, {", unit: ", &f.unit}} {
		if rest, ok = strings.CutPrefix(rest, field.key); !ok {
			break
		}
		quoted, err := strconv.QuotedPrefix(rest)
		if err != nil {
			ok = false
			break
		}
		*field.dst, _ = strconv.Unquote(quoted) // QuotedPrefix found a valid quoted string
		rest = rest[len(quoted):]
	}
	if !ok || !strings.HasPrefix(rest, ", constLabels: ") || !model.UTF8Validation.IsValidMetricName(f.name) {
		return &descFamily{err: fmt.Errorf("unexpected descriptor %q", s)}
	}
	return f
}
