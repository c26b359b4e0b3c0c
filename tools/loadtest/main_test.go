package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/tools/demo/living"
	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

func testOptions(t *testing.T, upstream string) options {
	return options{upstream: upstream, dir: t.TempDir(), fake: utmstacktest.New(utmstacktest.Options{
		Users: map[string]string{user: password}, Alerts: living.Alerts(time.Now(), 50, 1)})}
}

// TestConfigurationsLoad: the exporter accepts both configurations the load
// test writes, with the password where each expects it and the upstream's
// certificate as the CA.
func TestConfigurationsLoad(t *testing.T) {
	o := testOptions(t, "https")
	up, err := newUpstream(o, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	passwordFile := filepath.Join(o.dir, "password")
	if err := os.WriteFile(passwordFile, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) { return password, k == "UTMSTACK_PASSWORD" }
	for name, text := range map[string]string{"core": coreConfig(up), "targets": targetsConfig(25, up, up, passwordFile)} {
		path := filepath.Join(o.dir, name+".yml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, env)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, text)
		}
		if cfg.UTMStack.TLSConfig.CAFile != up.caFile || name == "core" && cfg.UTMStack.MaxConcurrency != maxConcurrency {
			t.Errorf("%s: ca_file %q, max_concurrency %d", name, cfg.UTMStack.TLSConfig.CAFile, cfg.UTMStack.MaxConcurrency)
		}
		if tg, ok := cfg.Targets["t0024"]; name == "targets" && (len(cfg.Targets) != 25 || !ok || tg.UTMStack.MaxConcurrency != maxConcurrency ||
			tg.UTMStack.URL.String() != up.URL || tg.UTMStack.TLSConfig.CAFile != up.caFile) {
			t.Errorf("%d targets, t0024: %+v", len(cfg.Targets), tg.UTMStack)
		}
	}
}

// TestUpstreamCountsAndReplays: each kind of call is counted, a round by
// query all's windowed status count, and a repeated request is answered
// without the fake evaluating it again.
func TestUpstreamCountsAndReplays(t *testing.T) {
	o := testOptions(t, "http")
	up, err := newUpstream(o, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	u, _ := url.Parse(up.URL)
	c, err := utmstack.New(utmstack.Options{URL: u, Credentials: utmstack.Credentials{Method: utmstack.AuthPassword, Username: user, Secret: password}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	window := []utmstack.Filter{{Field: "@timestamp", Operator: "IS_BETWEEN", Value: []string{"now-24h/m", "now/m"}}}
	counted := utmstack.ValuesRequest{Index: "v11-alert-*", Field: "severity", Filters: window, Top: 10}
	first, err := c.ValuesWithCount(ctx, counted)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.ValuesWithCount(ctx, counted)
	if err != nil || len(again) == 0 || len(again) != len(first) {
		t.Fatalf("replayed answer %v (%v), first %v", again, err, first)
	}
	// open counts alerts of all time: no window, its status filter only.
	open := []utmstack.Filter{{Field: "status", Operator: "IS", Value: 2}}
	for _, call := range []func() error{
		func() error {
			_, err := c.ValuesWithCount(ctx, utmstack.ValuesRequest{Index: "v11-alert-*", Field: "status", Top: 5})
			return err
		},
		func() error { // all's status count: a round
			_, err := c.ValuesWithCount(ctx, utmstack.ValuesRequest{Index: "v11-alert-*", Field: "status", Filters: window, Top: 20})
			return err
		},
		func() error { // open's: not a round
			_, err := c.ValuesWithCount(ctx, utmstack.ValuesRequest{Index: "v11-alert-*", Field: "status", Filters: open, Top: 20})
			return err
		},
		func() error { _, err := c.Version(ctx); return err },
		func() error { _, _, err := c.AlertTime(ctx, "v11-alert-*", window, true); return err },
		func() error { _, err := c.CountIncidents(ctx, "OPEN"); return err },
		func() error { _, err := c.CountIncidents(ctx, "MERGED"); return err },
		func() error { _, err := c.CountIncidents(ctx, "OPEN"); return err },
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	evaluated := o.fake.Requests("POST", "/api/elasticsearch/property/values-with-count")
	want := counts{values: 4, periodic: 2, searches: 1, incidents: 3, logins: 1, roundsOf: 1, conns: 1}
	if got := up.counts(); got != want || evaluated != 4 {
		t.Fatalf("counts %v, values-with-count evaluated %d; want %v, 4", got, evaluated, want)
	}
	if got := o.fake.Requests("GET", "/api/utm-incidents"); got != 2 {
		t.Errorf("the fake counted %d incident counts, want 2: the repeated OPEN count replayed", got)
	}
}

// TestHandshakes: over https and h2 the upstream counts each new connection
// and whether its TLS handshake was full or resumed, and which protocol it
// chose; a client trusting the CA file alone gets through.
func TestHandshakes(t *testing.T) {
	for _, tc := range []struct {
		mode, proto string
		h2          int64 // handshakes that chose HTTP/2
	}{{"https", "HTTP/1.1", 0}, {"h2", "HTTP/2.0", 3}} {
		up, err := newUpstream(testOptions(t, tc.mode), 0)
		if err != nil {
			t.Fatal(err)
		}
		pem, err := os.ReadFile(up.caFile)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		tlsConfig := &tls.Config{RootCAs: roots, ClientSessionCache: tls.NewLRUClientSessionCache(1)}
		for range 3 { // a new connection each time
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, ForceAttemptHTTP2: true}}
			resp, err := client.Get(up.URL + "/management/info")
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			client.CloseIdleConnections()
			if resp.Proto != tc.proto {
				t.Errorf("%s: %s, want %s", tc.mode, resp.Proto, tc.proto)
			}
		}
		up.Close()
		if c := up.counts(); c[conns] != 3 || c[full] != 1 || c[resumed] != 2 || c[overH2] != tc.h2 {
			t.Errorf("%s: %d connections, %d full and %d resumed handshakes, %d over h2; want 3, 1, 2, %d",
				tc.mode, c[conns], c[full], c[resumed], c[overH2], tc.h2)
		}
	}
}

func TestCells(t *testing.T) {
	for _, tc := range []struct {
		r      result
		values []float64
		cell   string
	}{
		{result{"cpu", " ms", "≤ 2", 0}, []float64{2.5, 1.25, 1.5}, "1.5 ms (1.25–2.5), yes"},
		{result{"cpu", " ms", "≤ 2", 0}, []float64{2.5, 1.25, 3}, "2.5 ms (1.25–3), **no**"},
		{result{"per round", "", "≥ 45", 0}, []float64{44, 50}, "47 (44–50), yes"},
		{result{"per round", "", "≥ 45", 0}, []float64{44}, "44, **no**"},
		{result{"calls", "", "= 8", 0}, []float64{8}, "8, yes"},
		{result{"calls", "", "= 8", 0}, []float64{8.0001}, "8, **no**"},
		{result{"cpu", " ms", "reported", 0}, []float64{123.456789}, "123.5 ms"},
		{result{"p50", " ms", "reported", 0}, []float64{0.000123456}, "0.0001235 ms"},
		{result{"none", "", "= 0", 0}, nil, ""},
	} {
		if got := tc.r.cell(tc.values); got != tc.cell {
			t.Errorf("%v %v: cell %q, want %q", tc.r, tc.values, got, tc.cell)
		}
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 1-4 = %v, want 2.5", got)
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median of nothing = %v, want NaN", got)
	}
}

// TestFloor: 14 calls at most 4 at a time are 4 waves; a 15th, periodic,
// call adds none, a 17th would.
func TestFloor(t *testing.T) {
	for calls, want := range map[float64]time.Duration{14: 200 * time.Millisecond, 14.0004: 200 * time.Millisecond, 15: 200 * time.Millisecond, 17: 250 * time.Millisecond, 6: 100 * time.Millisecond} {
		if got := floor(calls, 50*time.Millisecond); got != want {
			t.Errorf("floor of %v calls = %v, want %v", calls, got, want)
		}
	}
}
