package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	commoncfg "github.com/prometheus/common/config"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Options configure an Exporter.
type Options struct {
	Metrics       *Metrics
	Gatherer      prometheus.Gatherer // the process registry, served beside each scrape's metrics
	Logger        *slog.Logger
	TimeoutOffset time.Duration    // subtracted from X-Prometheus-Scrape-Timeout-Seconds
	Now           func() time.Time // fake clocks in tests
	UserAgent     string
}

// Exporter serves /metrics for the configured UTMStack and swaps its
// configuration on reload without losing what it need not lose.
type Exporter struct {
	opts Options

	mu       sync.RWMutex
	cfg      *config.Config
	target   *target
	settings clientSettings
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

func settingsOf(cfg *config.Config) clientSettings {
	s := clientSettings{
		URL: cfg.UTMStack.URL.String(),
		Credentials: utmstack.Credentials{
			Method:   utmstack.AuthMethod(cfg.UTMStack.Auth.Method),
			Username: cfg.UTMStack.Auth.Username,
			Secret:   cfg.UTMStack.Auth.Secret,
		},
		TLS: cfg.UTMStack.TLSConfig,
	}
	if cfg.UTMStack.ProxyURL != nil {
		s.Proxy = cfg.UTMStack.ProxyURL.String()
	}
	return s
}

// Apply makes cfg the running configuration. On error nothing changes.
func (e *Exporter) Apply(cfg *config.Config) error {
	settings := settingsOf(cfg)

	e.mu.Lock()
	defer e.mu.Unlock()
	var client *utmstack.Client
	if e.target != nil && reflect.DeepEqual(settings, e.settings) {
		client = e.target.client
	} else {
		var err error
		if client, err = e.newClient(cfg); err != nil {
			return err
		}
		if cfg.UTMStack.TLSConfig.InsecureSkipVerify {
			e.opts.Logger.Warn("TLS certificate verification of UTMStack is disabled (tls_config.insecure_skip_verify); credentials can be intercepted", "url", settings.URL)
		}
	}
	t := newTarget(client, cfg, e.opts.Now, e.opts.Logger)
	if e.target != nil {
		t.adopt(e.target)
		if e.target.client != client {
			e.target.client.Close()
		}
	}
	e.cfg, e.target, e.settings = cfg, t, settings
	return nil
}

func (e *Exporter) newClient(cfg *config.Config) (*utmstack.Client, error) {
	httpCfg := commoncfg.HTTPClientConfig{TLSConfig: cfg.UTMStack.TLSConfig, EnableHTTP2: true}
	if cfg.UTMStack.ProxyURL != nil {
		httpCfg.ProxyURL = commoncfg.URL{URL: cfg.UTMStack.ProxyURL}
	}
	s := settingsOf(cfg)
	client, err := utmstack.New(utmstack.Options{
		URL:         cfg.UTMStack.URL,
		Credentials: s.Credentials,
		HTTP:        httpCfg,
		Hooks:       e.opts.Metrics.Hooks(),
		Logger:      e.opts.Logger,
		Now:         e.opts.Now,
		UserAgent:   e.opts.UserAgent,
	})
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

func (e *Exporter) current() *target {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.target
}

// ServeHTTP answers a scrape: one round of queries (shared with concurrent
// scrapes) under the scrape's deadline, then the process metrics beside it.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := e.current()
	if t == nil {
		http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
		return
	}
	start := time.Now()
	timeout := scrapeTimeout(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), t.timeout, e.opts.TimeoutOffset)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	result, successes := t.scrape(ctx)

	reg := prometheus.NewRegistry()
	reg.MustRegister(scrapeCollector{result: result, successes: successes, duration: time.Since(start)})
	gatherers := prometheus.Gatherers{reg}
	if e.opts.Gatherer != nil {
		gatherers = append(gatherers, e.opts.Gatherer)
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
	if err != nil || secs <= 0 {
		return configured
	}
	fromPrometheus := time.Duration(secs * float64(time.Second))
	if fromPrometheus-offset > 0 {
		fromPrometheus -= offset
	}
	return min(configured, fromPrometheus)
}
