// Command utmstack_exporter exports UTMStack's security alert counts, and its
// own health, as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/utmstack/utmstack_exporter/collector"
	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/livecheck"
)

const exporterName = "utmstack_exporter"

func main() {
	app := kingpin.New(exporterName, appHelp)
	var (
		configFile = app.Flag("config.file", "Path to the configuration file.").
				Default("utmstack.yml").String()
		configCheck = app.Flag("config.check", "Validate the configuration file, print the result and exit (0 valid, 1 invalid). Never contacts UTMStack.").
				Bool()
		configCheckLive = app.Flag("config.check.live", "Validate, then ask every configured UTMStack (the top-level one and each target) once: one login at most, every query once; print what each answered and every problem found, and exit 0 (all answered as expected), 1 (configuration invalid) or 2 (a live problem).").
				Bool()
		metricsPath = app.Flag("web.telemetry-path", "Path under which to expose metrics.").
				Default("/metrics").String()
		disableExporterMetrics = app.Flag("web.disable-exporter-metrics", "Exclude go_* and process_* metrics.").
					Bool()
		timeoutOffset = app.Flag("scrape.timeout-offset", "Subtracted from Prometheus' X-Prometheus-Scrape-Timeout-Seconds.").
				Default("0.5s").Duration()
		maxProcs = app.Flag("runtime.gomaxprocs", "CPUs Go may use at once (GOMAXPROCS). 0 leaves it as the Go runtime chose it: the CPUs available, or the container's CPU limit. One is cheapest for an exporter: see BENCHMARKS.md.").
				Envar("GOMAXPROCS").Default("1").String()
		webFlags = kingpinflag.AddFlags(app, ":9850")
		logCfg   = &promslog.Config{}
	)
	flag.AddFlags(app, logCfg)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	kingpin.MustParse(app.Parse(os.Args[1:]))
	procs, err := strconv.Atoi(*maxProcs)
	if err != nil || procs < 0 {
		app.Fatalf("--runtime.gomaxprocs (or the GOMAXPROCS environment variable) is %q; want a whole number, 0 or more", *maxProcs)
	}
	if err := checkTelemetryPath(*metricsPath); err != nil {
		app.Fatalf("--web.telemetry-path is %q; %v", *metricsPath, err)
	}
	logger := promslog.New(logCfg)

	if *configCheck || *configCheckLive {
		cfg, err := config.Load(*configFile, os.LookupEnv)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: INVALID\n%v\n", *configFile, err)
			os.Exit(1)
		}
		fmt.Printf("%s: OK: %s\n", *configFile, cfg.Summary())
		for _, n := range cfg.Notices {
			fmt.Printf("%s: note: %s\n", *configFile, n)
		}
		fmt.Printf("%s: at most %s\n", *configFile, seriesBound(cfg))
		if *configCheckLive {
			fmt.Println()
			if !livecheck.Run(context.Background(), cfg, os.Stdout, exporterName+"/"+version.Version) {
				os.Exit(2)
			}
		}
		os.Exit(0)
	}

	logger.Info("Starting "+exporterName, "version", version.Info())
	logger.Info("Build context", "build_context", version.BuildContext())
	if procs > 0 {
		runtime.GOMAXPROCS(procs)
	}
	logger.Debug("Go runtime", "gomaxprocs", runtime.GOMAXPROCS(0))

	registry := prometheus.NewRegistry()
	registry.MustRegister(versioncollector.NewCollector(exporterName))
	if !*disableExporterMetrics {
		registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	exporter := collector.New(collector.Options{
		Metrics:       collector.NewProcessMetrics(registry),
		Gatherer:      registry,
		Logger:        logger,
		TimeoutOffset: *timeoutOffset,
		UserAgent:     exporterName + "/" + version.Version,
	})
	reloader := config.NewReloader(*configFile, os.LookupEnv, exporter.Apply, logger, registry)
	if err := reloader.Reload(); err != nil {
		logger.Error("Cannot load the configuration", "file", *configFile, "err", err)
		os.Exit(1)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go reloader.OnSignal(hup)

	var metricsHandler http.Handler = exporter
	if !*disableExporterMetrics {
		metricsHandler = promhttp.InstrumentMetricHandler(registry, exporter)
	}
	mux := http.NewServeMux()
	mux.Handle(*metricsPath, metricsHandler)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "Healthy.") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if exporter.Config() == nil {
			http.Error(w, "No configuration loaded.", http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintln(w, "Ready.")
	})
	mux.Handle("/-/reload", reloader)
	mux.Handle("/probe", exporter.ProbeHandler())
	if *metricsPath != "/" {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			landing, err := web.NewLandingPage(landingConfig(*metricsPath, exporter.Config()))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			landing.ServeHTTP(w, r)
		})
	}

	server := newHTTPServer(mux)
	if err := web.ListenAndServe(server, webFlags, logger); err != nil {
		logger.Error("HTTP server stopped", "err", err)
		os.Exit(1)
	}
}

// builtInPaths are the exporter's endpoints besides --web.telemetry-path.
var builtInPaths = []string{"/-/healthy", "/-/ready", "/-/reload", "/probe"}

// checkTelemetryPath refuses a --web.telemetry-path that http.ServeMux would
// panic on (a pattern it cannot parse, or one registered twice) or read as
// something else than a path (a method, a host, a wildcard).
func checkTelemetryPath(path string) error {
	switch {
	case !strings.HasPrefix(path, "/"):
		return errors.New("want a path that starts with /, e.g. /metrics")
	case strings.ContainsAny(path, "{} \t\r\n"):
		return errors.New("want a plain path, without braces or spaces")
	case slices.Contains(builtInPaths, path):
		return fmt.Errorf("%s is another of the exporter's endpoints", path)
	}
	return nil
}

// seriesBound says how many series of UTMStack data and health the
// configuration can produce per answer: the label values come from alert
// data, and each breakdown's top caps them.
func seriesBound(cfg *config.Config) string {
	out := fmt.Sprintf("%d series of UTMStack data and health per /metrics scrape", collector.MaxSeries(cfg.Queries, cfg.Incidents, cfg.Coverage))
	most, name := 0, ""
	for _, n := range slices.Sorted(maps.Keys(cfg.Targets)) {
		if m := collector.MaxSeries(cfg.Targets[n].Queries, cfg.Incidents, cfg.Coverage); m > most {
			most, name = m, n
		}
	}
	if name != "" {
		out += fmt.Sprintf(", %d per /probe (target %s)", most, name)
	}
	return out + ", besides the exporter's own counters and the Go and process metrics"
}
