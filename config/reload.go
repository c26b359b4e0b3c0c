package config

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reloader loads the configuration file and hands it to apply: at start-up,
// on SIGHUP and on POST /-/reload. A file that fails to load or apply
// leaves the running configuration in place and says why in the log and in
// the reload metrics.
type Reloader struct {
	path   string
	getenv func(string) (string, bool)
	apply  func(*Config) error
	logger *slog.Logger
	now    func() time.Time

	mu          sync.Mutex // one reload at a time, so none is lost or interleaved
	loaded      bool       // a configuration is in use, which a failed reload keeps
	successful  prometheus.Gauge
	successTime prometheus.Gauge
}

// NewReloader registers the reload metrics on reg.
func NewReloader(path string, getenv func(string) (string, bool), apply func(*Config) error, logger *slog.Logger, reg prometheus.Registerer) *Reloader {
	r := &Reloader{
		path: path, getenv: getenv, apply: apply, logger: logger, now: time.Now,
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "utmstack_exporter_config_last_reload_successful",
			Help: "1 when the last configuration load succeeded.",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "utmstack_exporter_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration load.",
		}),
	}
	reg.MustRegister(r.successful, r.successTime)
	return r
}

// Reload reads the file again (secret files included) and applies it.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := Load(r.path, r.getenv)
	if err == nil {
		err = r.apply(cfg)
	}
	if err != nil {
		r.successful.Set(0)
		if r.loaded {
			r.logger.Error("Configuration not loaded; the previous one stays in use", "file", r.path, "err", err)
		} else {
			r.logger.Error("Configuration not loaded", "file", r.path, "err", err)
		}
		return err
	}
	r.loaded = true
	if cfg.UTMStack.Auth.IsInline() {
		r.logger.Warn("The UTMStack secret is written inline in the configuration file; prefer a *_file or an environment variable", "file", r.path)
	}
	for _, n := range cfg.Notices {
		r.logger.Warn("Configuration notice", "file", r.path, "notice", n)
	}
	r.successful.Set(1)
	r.successTime.Set(float64(r.now().UnixNano()) / 1e9)
	r.logger.Info("Configuration loaded", "file", r.path, "config", cfg.Summary())
	return nil
}

// OnSignal reloads once for every value received, until the channel closes.
func (r *Reloader) OnSignal(signals <-chan os.Signal) {
	for range signals {
		_ = r.Reload() // logged and counted by Reload
	}
}

// ServeHTTP is the /-/reload endpoint: POST only.
func (r *Reloader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
		return
	}
	if err := r.Reload(); err != nil {
		http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
		return
	}
	_, _ = fmt.Fprintln(w, "Configuration reloaded.")
}
