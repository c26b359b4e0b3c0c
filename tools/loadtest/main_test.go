package main

import (
	"context"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// TestConfigurationsLoad: the exporter accepts both configurations the load
// test writes, with the password where each expects it.
func TestConfigurationsLoad(t *testing.T) {
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) { return password, k == "UTMSTACK_PASSWORD" }
	o := options{maxConc: 3, targets: 25}
	for name, text := range map[string]string{
		"core":    coreConfig(o, "http://127.0.0.1:1"),
		"targets": targetsConfig(o, "http://127.0.0.1:1", "http://127.0.0.1:2", passwordFile),
	} {
		path := filepath.Join(dir, name+".yml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, env)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, text)
		}
		if cfg.UTMStack.MaxConcurrency != 3 && name == "core" || name == "targets" && len(cfg.Targets) != 25 {
			t.Errorf("%s: max_concurrency %d, %d targets", name, cfg.UTMStack.MaxConcurrency, len(cfg.Targets))
		}
		if tg, ok := cfg.Targets["t0024"]; name == "targets" && (!ok || tg.UTMStack.MaxConcurrency != 3 || tg.UTMStack.URL.Port() != "2") {
			t.Errorf("target t0024: %+v", tg.UTMStack)
		}
	}
}

// TestUpstreamCountsAndReplays: calls, logins and connections are counted,
// and a repeated body is answered without the fake evaluating it again.
func TestUpstreamCountsAndReplays(t *testing.T) {
	fake := utmstacktest.New(utmstacktest.Options{Users: map[string]string{user: password}, Alerts: utmstacktest.DemoAlerts(time.Now(), 50, 1)})
	up := newUpstream(fake, 0)
	defer up.Close()
	u, _ := url.Parse(up.URL)
	c, err := utmstack.New(utmstack.Options{URL: u, Credentials: utmstack.Credentials{Method: utmstack.AuthPassword, Username: user, Secret: password}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := utmstack.ValuesRequest{Index: "v11-alert-*", Field: "severity", Top: 10}
	first, err := c.ValuesWithCount(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.ValuesWithCount(context.Background(), req)
	if err != nil || len(again) == 0 || len(again) != len(first) {
		t.Fatalf("replayed answer %v (%v), first %v", again, err, first)
	}
	evaluated := fake.Requests("POST", "/api/elasticsearch/property/values-with-count")
	if up.calls.Load() != 2 || evaluated != 1 || up.logins.Load() != 1 || up.conns.Load() != 1 {
		t.Fatalf("calls %d (evaluated %d), logins %d, connections %d; want 2 (1), 1, 1",
			up.calls.Load(), evaluated, up.logins.Load(), up.conns.Load())
	}
}

func TestCells(t *testing.T) {
	for _, tc := range []struct {
		r      result
		values []float64
		budget string
		cell   string
	}{
		{result{"cpu", " ms", 0, -inf, 2}, []float64{2.5, 1.25, 1.5}, "≤ 2 ms", "1.5 ms (1.25–2.5), yes"},
		{result{"cpu", " ms", 0, -inf, 2}, []float64{2.5, 1.25, 3}, "≤ 2 ms", "2.5 ms (1.25–3), **no**"},
		{result{"per round", "", 0, 45, inf}, []float64{44, 50}, "≥ 45", "47 (44–50), yes"},
		{result{"calls", "", 0, 6, 6}, []float64{6}, "= 6", "6, yes"},
		{result{"p99", " ms", 0, nan, nan}, []float64{123.456789}, "reported", "123.5 ms"},
		{result{"p50", " ms", 0, -inf, nan}, []float64{0.000123456}, "reported", "0.0001235 ms"},
		{result{"failed", "", 0, 0, 0}, []float64{0, 0, 0}, "= 0", "0, yes"},
		{result{"none", "", 0, 0, 0}, nil, "= 0", ""},
	} {
		if got := tc.r.budget(); got != tc.budget {
			t.Errorf("%v: budget %q, want %q", tc.r, got, tc.budget)
		}
		if got := tc.r.cell(tc.values); got != tc.cell {
			t.Errorf("%v %v: cell %q, want %q", tc.r, tc.values, got, tc.cell)
		}
	}
	if got := percentile([]time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond}, 50); got != 2 {
		t.Errorf("p50 of 1-4 ms = %v, want 2", got)
	}
	if got := percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("p50 of nothing = %v, want NaN", got)
	}
}
