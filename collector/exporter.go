package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/promhttp/zstd" // zstd for the scrapers that ask for it

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/round"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Options configure an Exporter.
type Options struct {
	Metrics       *ProcessMetrics
	Gatherer      prometheus.Gatherer // the process registry, served beside each /metrics scrape
	Logger        *slog.Logger
	TimeoutOffset time.Duration    // subtracted from X-Prometheus-Scrape-Timeout-Seconds
	Now           func() time.Time // fake clocks in tests
	UserAgent     string
}

// Exporter serves /metrics for the configured UTMStack and /probe for the
// configured targets, one round.Instance each; it keeps their counters.
type Exporter struct {
	opts Options
	env  round.Env

	// applying serialises Apply: only it writes the fields below, so it
	// reads them holding applying alone, and takes mu only to change them.
	applying sync.Mutex
	mu       sync.RWMutex
	cfg      *config.Config
	main     *target
	probes   map[string]*target
}

// target is one UTMStack as the exporter serves it: its instance, the
// families its queries are exported as, and its counters.
type target struct {
	inst    *round.Instance
	url     string        // scheme://host[:port], never a credential
	timeout time.Duration // utmstack.timeout, the longest a scrape runs
	planned               // shared with every target of the same queries
	metrics *Metrics
}

// New returns an Exporter with no configuration; call Apply before serving.
func New(opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// One login ledger: the failed-login budget of a UTMStack and user
	// outlives the clients a reload replaces.
	env := round.Env{Client: utmstack.Options{UserAgent: opts.UserAgent, Ledger: utmstack.NewLoginLedger()}, Logger: opts.Logger, Now: opts.Now}
	return &Exporter{opts: opts, env: env}
}

// Apply makes cfg the running configuration. On error nothing changes.
// The clients a reload needs are built before the scrapes are held back:
// building one reads TLS files, with no deadline, and a hung mount must
// not block every /metrics and /probe.
func (e *Exporter) Apply(cfg *config.Config) error {
	e.applying.Lock()
	defer e.applying.Unlock()

	var targets []*target
	var pending []*round.Pending
	plans := planCache{}
	prepare := func(old *target, u config.UTMStack, queries []config.Query, metrics *Metrics, keep int) (*target, error) {
		t := &target{url: u.URL.String(), timeout: u.Timeout, planned: plans.get(queries), metrics: metrics}
		if old != nil {
			t.inst = old.inst
		}
		p, err := e.env.Prepare(t.inst, round.Setup{UTMStack: u, Plans: t.plans, Incidents: cfg.Incidents, Coverage: cfg.Coverage,
			Hooks: metrics.Hooks(), Keep: keep})
		if err != nil {
			for _, p := range pending {
				p.Discard()
			}
			return nil, err
		}
		targets, pending = append(targets, t), append(pending, p)
		return t, nil
	}
	// The UTMStack of /metrics keeps a connection per call of a round in
	// flight; each /probe target keeps one, as there may be thousands.
	main, err := prepare(e.main, cfg.UTMStack, cfg.Queries, e.opts.Metrics.Metrics, cfg.UTMStack.MaxConcurrency)
	if err != nil {
		return err
	}
	probes := make(map[string]*target, len(cfg.Targets))
	for name, t := range cfg.Targets {
		old := e.probes[name]
		var metrics *Metrics
		if old != nil {
			metrics = old.metrics // counters outlive clients
		} else {
			metrics = newMetrics()
		}
		if probes[name], err = prepare(old, t.UTMStack, t.Queries, metrics, 1); err != nil {
			return fmt.Errorf("target %s: %w", name, err)
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	for k, p := range pending {
		targets[k].inst = p.Commit()
	}
	for name, old := range e.probes {
		if probes[name] == nil {
			old.inst.Close()
		}
	}
	e.cfg, e.main, e.probes = cfg, main, probes
	return nil
}

// planCache builds each list of queries' plans and families once per Apply,
// for every target of the list to share. Lists are told apart by identity:
// targets that inherit the top-level queries hold that very slice.
type planCache map[planKey]planned

type planKey struct {
	first *config.Query
	n     int
}

// planned are a list of queries' plans and the families they export.
type planned struct {
	plans    []round.Plan
	families []queryFamilies
}

func (c planCache) get(queries []config.Query) planned {
	if len(queries) == 0 {
		return planned{}
	}
	key := planKey{&queries[0], len(queries)}
	p, ok := c[key]
	if !ok {
		p = planned{round.NewPlans(queries), familiesOf(queries)}
		c[key] = p
	}
	return p
}

// Config returns the running configuration, nil before the first Apply.
func (e *Exporter) Config() *config.Config {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg
}

func (e *Exporter) current() *target {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.main
}

// ServeHTTP answers a /metrics scrape: a round of queries, shared with
// concurrent scrapes, beside the process metrics.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := e.current()
	if t == nil {
		http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
		return
	}
	e.serve(w, r, t, e.opts.Gatherer, nil) // the process registry holds its counters
}

// serve has t's instance serve this request a round, and serves its
// metrics with the counters (nil: none) beside the gatherer's (nil: none),
// compressed as the scraper asks (promhttp: gzip or zstd).
func (e *Exporter) serve(w http.ResponseWriter, r *http.Request, t *target, beside prometheus.Gatherer, counters *Metrics) {
	start := time.Now()
	timeout := scrapeTimeout(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), t.timeout, e.opts.TimeoutOffset)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	result := t.inst.Scrape(ctx)

	reg := prometheus.NewRegistry()
	reg.MustRegister(t.collector(result, time.Since(start)))
	if counters != nil {
		reg.MustRegister(counters)
	}
	gatherers := prometheus.Gatherers{reg}
	if beside != nil {
		gatherers = append(gatherers, beside)
	}
	promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(e.opts.Logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(w, r)
}

// collector exports result. A reload between reading t and the scrape
// may have served the result of other queries: their families are then
// described afresh.
func (t *target) collector(result *round.Result, took time.Duration) roundCollector {
	families := t.families
	if p := result.Plans(); len(p) != len(t.plans) || len(p) > 0 && &p[0] != &t.plans[0] {
		queries := make([]config.Query, len(p))
		for k := range p {
			queries[k] = p[k].Query()
		}
		families = familiesOf(queries)
	}
	return roundCollector{url: t.url, families: families, result: result, successes: t.inst.LastSuccesses(), scrapeDuration: took}
}

// scrapeTimeout is the smaller of the configured timeout and Prometheus'
// scrape timeout less the offset that leaves time to send the answer.
func scrapeTimeout(header string, configured, offset time.Duration) time.Duration {
	if header == "" {
		return configured
	}
	secs, err := strconv.ParseFloat(header, 64)
	// !(secs > 0) also refuses NaN. A header beyond the configured timeout
	// plus the offset changes nothing, and comparing before the conversion
	// keeps +Inf and huge values from overflowing a time.Duration.
	if err != nil || !(secs > 0) || secs > (configured+offset).Seconds() {
		return configured
	}
	fromPrometheus := time.Duration(secs * float64(time.Second))
	if fromPrometheus-offset > 0 {
		fromPrometheus -= offset
	}
	return min(configured, fromPrometheus)
}
