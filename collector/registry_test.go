package collector

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	dto "github.com/prometheus/client_model/go"
)

// constCollector sends fixed series. Without descs it is an unchecked
// collector: a registry then learns of its series only when gathering, so
// it can send what a checked one could not.
type constCollector struct {
	descs  []*prometheus.Desc
	series func(ch chan<- prometheus.Metric)
}

func (c constCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c constCollector) Collect(ch chan<- prometheus.Metric) { c.series(ch) }

// rawMetric writes its labels as given: neither sorted nor checked, as a
// hand-written prometheus.Metric might.
type rawMetric struct {
	desc   *prometheus.Desc
	labels [][2]string // name, value
	value  float64
}

func (m rawMetric) Desc() *prometheus.Desc { return m.desc }

func (m rawMetric) Write(out *dto.Metric) error {
	for _, l := range m.labels {
		out.Label = append(out.Label, &dto.LabelPair{Name: &l[0], Value: &l[1]})
	}
	out.Gauge = &dto.Gauge{Value: &m.value}
	return nil
}

// fixtureCollectors exercise every series type, label order and sorting rule
// a registry applies, with values that do not move between two gatherings.
func fixtureCollectors() []prometheus.Collector {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fixture_requests_total", Help: "Requests."}, []string{"method", "code"})
	for _, lv := range [][2]string{{"post", "500"}, {"get", "200"}, {"get", "404"}, {"delete", "200"}} {
		requests.WithLabelValues(lv[0], lv[1]).Add(float64(len(lv[0])))
	}
	temperature := prometheus.NewGauge(prometheus.GaugeOpts{Name: "fixture_temperature_celsius", Help: "Temperature, with \"quotes\" and a \\ in its help.",
		ConstLabels: prometheus.Labels{"room": "Ñ-lab"}})
	temperature.Set(-3.5)
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fixture_latency_seconds", Help: "Latency.", Buckets: []float64{0.1, 1}}, []string{"path"})
	latency.WithLabelValues("/b").Observe(0.05)
	latency.WithLabelValues("/a").Observe(2)
	sizes := prometheus.NewSummary(prometheus.SummaryOpts{Name: "fixture_size_bytes", Help: "Sizes.", Objectives: map[float64]float64{0.5: 0.05}})
	for _, v := range []float64{10, 30, 20} {
		sizes.Observe(v)
	}
	zoned := prometheus.NewDesc("fixture_zoned", "Series whose label names are given out of order.", []string{"zone", "app"}, nil)
	untyped := prometheus.NewDesc("fixture_untyped", "An untyped series.", nil, prometheus.Labels{"b": "2", "a": "1"})
	raw := prometheus.NewDesc("fixture_raw", "Series with labels out of order.", []string{"y", "x"}, nil)
	consts := constCollector{descs: []*prometheus.Desc{zoned, untyped, raw}, series: func(ch chan<- prometheus.Metric) {
		ch <- rawMetric{raw, [][2]string{{"y", "2"}, {"x", "1"}}, 4}
		ch <- rawMetric{raw, [][2]string{{"y", "1"}, {"x", "1"}}, 5}
		ch <- prometheus.MustNewConstMetric(zoned, prometheus.GaugeValue, 2, "west", "web")
		ch <- prometheus.MustNewConstMetric(untyped, prometheus.UntypedValue, 7)
		ch <- prometheus.MustNewConstMetric(zoned, prometheus.GaugeValue, 1, "east", "web")
		ch <- prometheus.MustNewConstMetric(zoned, prometheus.GaugeValue, 3, "east", "db")
	}}
	return []prometheus.Collector{requests, temperature, latency, sizes, consts, versioncollector.NewCollector("fixture")}
}

// gatherBoth registers cs with a prometheus.Registry and a Registry and
// gathers both.
func gatherBoth(t *testing.T, cs ...prometheus.Collector) (ours, theirs []*dto.MetricFamily, oursErr, theirsErr error) {
	t.Helper()
	reference, r := prometheus.NewRegistry(), NewRegistry()
	reference.MustRegister(cs...)
	r.MustRegister(cs...)
	ours, oursErr = r.Gather()
	theirs, theirsErr = reference.Gather()
	return ours, theirs, oursErr, theirsErr
}

func TestRegistryMatchesPrometheusRegistry(t *testing.T) {
	ours, theirs, oursErr, theirsErr := gatherBoth(t, fixtureCollectors()...)
	if oursErr != nil || theirsErr != nil {
		t.Fatalf("errors: ours %v, prometheus.Registry's %v", oursErr, theirsErr)
	}
	if got, want := familiesText(t, ours), familiesText(t, theirs); got != want {
		t.Errorf("Registry:\n%s\nprometheus.Registry:\n%s", got, want)
	}
}

// The Go and process collectors' values move between two gatherings, so
// what is compared is everything else: names, help, types, label sets.
func TestRegistryGathersGoAndProcessMetricsLikePrometheusRegistry(t *testing.T) {
	ours, theirs, oursErr, theirsErr := gatherBoth(t, collectors.NewGoCollector(), NewProcessCollector())
	if oursErr != nil || theirsErr != nil {
		t.Fatalf("errors: ours %v, prometheus.Registry's %v", oursErr, theirsErr)
	}
	shape := func(mfs []*dto.MetricFamily) string {
		var b strings.Builder
		for _, mf := range mfs {
			b.WriteString(mf.GetName() + " " + mf.GetType().String() + " " + mf.GetHelp() + "\n")
			for _, m := range mf.Metric {
				b.WriteString("  " + labelString(m) + "\n")
			}
		}
		return b.String()
	}
	if got, want := shape(ours), shape(theirs); got != want {
		t.Errorf("Registry:\n%s\nprometheus.Registry:\n%s", got, want)
	}
	if len(ours) < 30 {
		t.Errorf("%d families gathered, want the Go and process metrics", len(ours))
	}
}

// Series a prometheus.Registry refuses when gathering are refused and named;
// what it keeps is kept.
func TestRegistryRefusesWhatPrometheusRegistryRefuses(t *testing.T) {
	twice := prometheus.NewDesc("fixture_twice", "Sent twice.", []string{"k"}, nil)
	asGauge := prometheus.NewDesc("fixture_kind", "A gauge, then a counter.", nil, nil)
	asCounter := prometheus.NewDesc("fixture_kind", "A gauge, then a counter.", []string{"k"}, nil)
	badUTF8 := prometheus.NewDesc("fixture_utf8", "A label value that is not UTF-8.", []string{"k"}, nil)
	otherHelp := prometheus.NewDesc("fixture_twice", "Another help.", []string{"k"}, nil)
	failing := prometheus.NewDesc("fixture_failing", "Cannot be written.", nil, nil)
	for _, c := range []struct {
		name, want string
		series     func(ch chan<- prometheus.Metric)
	}{
		{"series twice", `fixture_twice{k="a"}: series exported twice`, func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(twice, prometheus.GaugeValue, 1, "a")
			ch <- prometheus.MustNewConstMetric(twice, prometheus.GaugeValue, 2, "b")
			ch <- prometheus.MustNewConstMetric(twice, prometheus.GaugeValue, 3, "a")
		}},
		{"type changes", `fixture_kind{k="x"} as a COUNTER; its family is a GAUGE`, func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(asGauge, prometheus.GaugeValue, 1)
			ch <- prometheus.MustNewConstMetric(asCounter, prometheus.CounterValue, 2, "x")
		}},
		{"help changes", `with help "Another help."`, func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(twice, prometheus.GaugeValue, 1, "a")
			ch <- prometheus.MustNewConstMetric(otherHelp, prometheus.GaugeValue, 2, "b")
		}},
		{"label value not UTF-8", "value is not valid UTF-8", func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(badUTF8, prometheus.GaugeValue, 1, "ok")
			ch <- rawMetric{badUTF8, [][2]string{{"k", "\xff"}}, 2}
		}},
		{"metric cannot be written", "collecting fixture_failing: broken", func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(twice, prometheus.GaugeValue, 1, "a")
			ch <- prometheus.NewInvalidMetric(failing, errors.New("broken"))
		}},
		{"collector panics", "panicked: boom", func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(twice, prometheus.GaugeValue, 1, "a")
			panic("boom")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ours, theirs, oursErr, theirsErr := gatherBoth(t, constCollector{series: c.series}, fixtureCollectors()[0])
			if theirsErr == nil {
				t.Fatal("prometheus.Registry accepted the series: the case tests nothing")
			}
			if oursErr == nil || !strings.Contains(oursErr.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", oursErr, c.want)
			}
			if got, want := familiesText(t, ours), familiesText(t, theirs); got != want {
				t.Errorf("Registry kept:\n%s\nprometheus.Registry kept:\n%s", got, want)
			}
		})
	}
}

// Were a client_golang release to change how a Desc prints, a gathering
// would still be right: it falls back to the prometheus.Registry.
func TestRegistryFallsBackOnUnreadableDesc(t *testing.T) {
	r := NewRegistry()
	cs := fixtureCollectors()
	r.MustRegister(cs...)
	descs := make(chan *prometheus.Desc, 16)
	cs[0].Describe(descs)
	r.descs[<-descs] = parseDesc("Desc{name: \"fixture_requests_total\"}")

	got, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.checked.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if g, w := familiesText(t, got), familiesText(t, want); g != w {
		t.Errorf("Registry:\n%s\nprometheus.Registry:\n%s", g, w)
	}
}

func TestParseDesc(t *testing.T) {
	help := "Help with \"quotes\", a \\, a newline\nand Ñ."
	f := parseDesc(prometheus.NewDesc("fixture_parsed_total", help, []string{"b", "a"}, prometheus.Labels{"c": `x", help: "y`}).String())
	if f.err != nil || f.name != "fixture_parsed_total" || f.help != help || f.unit != "" {
		t.Errorf("parsed %+v", f)
	}
	for _, s := range []string{
		"",
		`Desc{fqName: "a", help: "b"}`,
		`Desc{fqName: "a", help: "unterminated, unit: "", constLabels: {}, variableLabels: {}}`,
		`Desc{fqName: "", help: "b", unit: "", constLabels: {}, variableLabels: {}}`,
		`Desc{help: "b", fqName: "a", unit: "", constLabels: {}, variableLabels: {}}`,
	} {
		if f := parseDesc(s); f.err == nil {
			t.Errorf("%q parsed as %+v, want an error", s, f)
		}
	}
}

func TestRegistryUnregister(t *testing.T) {
	r := NewRegistry()
	cs := fixtureCollectors()
	r.MustRegister(cs...)
	if !r.Unregister(cs[0]) {
		t.Fatal("Unregister of a registered collector returned false")
	}
	if r.Unregister(cs[0]) {
		t.Error("a second Unregister returned true")
	}
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(mfs, func(mf *dto.MetricFamily) bool { return mf.GetName() == "fixture_requests_total" }) {
		t.Error("an unregistered collector was gathered")
	}
	if err := r.Register(cs[0]); err != nil {
		t.Errorf("registering again: %v", err)
	}
	if err := r.Register(cs[0]); err == nil {
		t.Error("a collector registered twice was accepted")
	}
}

// Rounds of different targets gather at once; -race checks the cache.
func TestRegistryConcurrentGathers(t *testing.T) {
	r := NewRegistry()
	r.MustRegister(fixtureCollectors()...)
	gathered := make([][]*dto.MetricFamily, 4)
	var wg sync.WaitGroup
	for i := range gathered {
		wg.Go(func() {
			var err error
			if gathered[i], err = r.Gather(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	texts := make([]string, len(gathered))
	for i, mfs := range gathered {
		texts[i] = familiesText(t, mfs)
	}
	for i, text := range texts[1:] {
		if text != texts[0] || text == "" {
			t.Errorf("gathering %d differs:\n%s\nfrom:\n%s", i+1, text, texts[0])
		}
	}
}

// A collector that makes a new Desc on every collection does not grow the
// cache without end.
func TestRegistryDescCacheBounded(t *testing.T) {
	r := NewRegistry()
	r.MustRegister(constCollector{series: func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("fixture_fresh", "A new Desc each time.", nil, nil), prometheus.GaugeValue, 1)
	}})
	for range maxCachedDescs + 10 {
		if _, err := r.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.descs); n > maxCachedDescs || n == 0 {
		t.Errorf("%d Descs cached, want 1 to %d", n, maxCachedDescs)
	}
}
