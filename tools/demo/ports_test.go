package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A busy port is an error that names the flag to choose another with; port
// 0 gets a free one.
func TestClaimAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()
	_, err = claimAddress("Prometheus", "prometheus", busy.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "the port is in use") || !strings.Contains(err.Error(), "-prometheus=127.0.0.1:0") {
		t.Errorf("a busy port: %v, want the hint naming -prometheus", err)
	}
	addr, err := claimAddress("Prometheus", "prometheus", "127.0.0.1:0")
	if err != nil || strings.HasSuffix(addr, ":0") {
		t.Errorf("port 0: %q, %v; want a port chosen", addr, err)
	}
}

// The links follow what the installed programs serve: Debian's Prometheus
// has only /classic pages, Debian's Alertmanager no UI.
func TestWebUILinks(t *testing.T) {
	debian := http.NewServeMux()
	debian.HandleFunc("/classic/alerts", func(http.ResponseWriter, *http.Request) {})
	srv := httptest.NewServer(debian)
	defer srv.Close()
	if prefix, ok := prometheusUI(context.Background(), srv.URL); !ok || prefix != "/classic" {
		t.Errorf("Debian's Prometheus: prefix %q, %v; want /classic", prefix, ok)
	}
	if alertmanagerUI(context.Background(), srv.URL) {
		t.Error("an Alertmanager without /script.js is taken for one with its UI")
	}
	full := http.NewServeMux()
	full.HandleFunc("/alerts", func(http.ResponseWriter, *http.Request) {})
	full.HandleFunc("/script.js", func(http.ResponseWriter, *http.Request) {})
	srv2 := httptest.NewServer(full)
	defer srv2.Close()
	if prefix, ok := prometheusUI(context.Background(), srv2.URL); !ok || prefix != "" {
		t.Errorf("Prometheus with its UI: prefix %q, %v; want \"\"", prefix, ok)
	}
	if !alertmanagerUI(context.Background(), srv2.URL) {
		t.Error("an Alertmanager with /script.js is taken for one without its UI")
	}
}
