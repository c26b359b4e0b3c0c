package collector

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/promhttp/zstd" // zstd for the scrapers that ask for it
	commoncfg "github.com/prometheus/common/config"

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
// configured targets, and swaps its configuration on reload without losing
// what it need not lose: clients (and so tokens and login backoffs) whose
// settings did not change, counters, last-success times.
type Exporter struct {
	opts Options

	mu     sync.RWMutex
	cfg    *config.Config
	main   *instance
	probes map[string]*instance
}

// instance is one UTMStack: its rounds (target) and the families they are
// exported as, its client, and the counters its client feeds and what it
// remembers (memory), which outlive reloads.
type instance struct {
	target   *round.Target
	families []queryFamilies // shared with every instance of the same queries
	client   *utmstack.Client
	memory   *round.Memory
	settings clientSettings
	timeout  time.Duration // utmstack.timeout, the longest a scrape runs
	metrics  *Metrics
}

// New returns an Exporter with no configuration; call Apply before serving.
func New(opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Exporter{opts: opts}
}

// clientSettings are what a client is built from. A reload that leaves them
// unchanged keeps the client, and with it the token: no extra login.
type clientSettings struct {
	URL         string
	Credentials utmstack.Credentials
	TLS         commoncfg.TLSConfig
	Proxy       string
}

func settingsOf(u config.UTMStack) clientSettings {
	s := clientSettings{
		URL:         u.URL.String(),
		Credentials: round.ClientOptions(u).Credentials,
		TLS:         u.TLSConfig,
	}
	if u.ProxyURL != nil {
		s.Proxy = u.ProxyURL.String()
	}
	return s
}

// Apply makes cfg the running configuration. On error nothing changes.
func (e *Exporter) Apply(cfg *config.Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()

	var created []*utmstack.Client
	fail := func(err error) error {
		for _, c := range created {
			c.Close()
		}
		return err
	}
	plans := planCache{}
	// The UTMStack of /metrics keeps a connection per call of a round in
	// flight; each /probe target keeps one, as there may be thousands.
	main, err := e.instance(e.main, cfg.UTMStack, plans.get(cfg.Queries), cfg.Incidents, e.opts.Metrics.Metrics, cfg.UTMStack.MaxConcurrency, &created)
	if err != nil {
		return fail(err)
	}
	probes := make(map[string]*instance, len(cfg.Targets))
	for name, t := range cfg.Targets {
		old := e.probes[name]
		var metrics *Metrics
		if old != nil {
			metrics = old.metrics // counters outlive clients
		} else {
			metrics = newMetrics()
		}
		if probes[name], err = e.instance(old, t.UTMStack, plans.get(t.Queries), cfg.Incidents, metrics, 1, &created); err != nil {
			return fail(fmt.Errorf("target %s: %w", name, err))
		}
	}

	// Close the clients nothing uses any more.
	inUse := map[*utmstack.Client]bool{main.client: true}
	for _, p := range probes {
		inUse[p.client] = true
	}
	for _, old := range append([]*instance{e.main}, slices.Collect(maps.Values(e.probes))...) {
		if old != nil && !inUse[old.client] {
			old.client.Close()
		}
	}
	e.cfg, e.main, e.probes = cfg, main, probes
	return nil
}

// planCache builds each list of queries' plans and families once, for one
// Apply: plans and families are read-only, so every target of a list can
// hold the same. Lists are told apart by identity: the targets that
// inherit the top-level queries hold that very slice (config); an own list
// gets plans of its own.
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

// instance builds the next state of one UTMStack: the old client when its
// settings are unchanged, else a new one (recorded in created).
func (e *Exporter) instance(old *instance, u config.UTMStack, q planned, incidents bool, metrics *Metrics,
	keep int, created *[]*utmstack.Client) (*instance, error) {
	settings := settingsOf(u)
	var client *utmstack.Client
	sameClient := old != nil && reflect.DeepEqual(settings, old.settings)
	mem := round.NewMemory()
	if old != nil {
		mem = old.memory.Reloaded(sameClient)
	}
	if sameClient {
		client = old.client
	} else {
		var err error
		if client, err = e.newClient(u, settings, metrics, keep); err != nil {
			return nil, err
		}
		*created = append(*created, client)
		if u.TLSConfig.InsecureSkipVerify {
			e.opts.Logger.Warn("TLS certificate verification of UTMStack is disabled (tls_config.insecure_skip_verify); credentials can be intercepted", "url", settings.URL)
		}
	}
	t := round.NewTarget(client, u, q.plans, incidents, mem, e.opts.Now, e.opts.Logger)
	return &instance{target: t, families: q.families, client: client, memory: mem, settings: settings, timeout: u.Timeout, metrics: metrics}, nil
}

func (e *Exporter) newClient(u config.UTMStack, s clientSettings, metrics *Metrics, keep int) (*utmstack.Client, error) {
	opts := round.ClientOptions(u)
	opts.Hooks = metrics.Hooks()
	opts.Logger = e.opts.Logger.With("url", s.URL)
	opts.Now = e.opts.Now
	opts.UserAgent = e.opts.UserAgent
	opts.Keep = keep
	client, err := utmstack.New(opts)
	if err != nil {
		return nil, fmt.Errorf("building the UTMStack client for %s: %w", s.URL, err)
	}
	return client, nil
}

// Config returns the running configuration, nil before the first Apply.
func (e *Exporter) Config() *config.Config {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg
}

func (e *Exporter) current() *instance {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.main
}

// ServeHTTP answers a /metrics scrape: one round of queries (shared with
// concurrent scrapes) under the scrape's deadline, beside the process
// metrics.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inst := e.current()
	if inst == nil {
		http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
		return
	}
	e.serve(w, r, inst, e.opts.Gatherer, nil) // the process registry holds its counters
}

// serve runs inst's round for this request and serves its metrics with
// the counters (nil: none) beside the gatherer's (nil: none), compressed as
// the scraper asks (promhttp: gzip or zstd).
func (e *Exporter) serve(w http.ResponseWriter, r *http.Request, inst *instance, beside prometheus.Gatherer, counters *Metrics) {
	start := time.Now()
	timeout := scrapeTimeout(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), inst.timeout, e.opts.TimeoutOffset)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	result := inst.target.Scrape(ctx)

	reg := prometheus.NewRegistry()
	reg.MustRegister(roundCollector{
		url:            inst.settings.URL,
		families:       inst.families,
		result:         result,
		successes:      inst.memory.LastSuccesses(),
		scrapeDuration: time.Since(start),
	})
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
