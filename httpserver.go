package main

import (
	"net/http"
	"time"
)

// Timeouts of the exporter's own HTTP server. Prometheus sends a scrape's
// headers at once, so a client still sending them after readHeaderTimeout
// is holding a connection open (Slowloris) and is cut off. A kept-alive
// connection idles between scrapes; idleTimeout is above the usual scrape
// intervals, so Prometheus reuses it, and closes those nobody uses. No
// read or write timeout: a scrape takes up to its own deadline, which
// Prometheus sets.
const (
	readHeaderTimeout = 5 * time.Second
	idleTimeout       = 2 * time.Minute
)

// newHTTPServer is the server for the exporter's endpoints.
func newHTTPServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
	}
}
