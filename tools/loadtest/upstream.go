package main

import (
	"bytes"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	user     = "prometheus"
	password = "loadtest-password-1"
)

// upstream serves the fake UTMStack on a loopback port of its own, delays
// every answer by latency, and counts what the exporter does to it.
type upstream struct {
	*httptest.Server
	fake          *utmstacktest.Server
	latency       time.Duration
	calls, logins atomic.Int64 // values-with-count calls, POST /api/authenticate
	conns, open   atomic.Int64 // TCP connections opened, and open now
	answers       sync.Map     // request body -> answer
}

func newUpstream(fake *utmstacktest.Server, latency time.Duration) *upstream {
	u := &upstream{fake: fake, latency: latency}
	u.Server = httptest.NewUnstartedServer(u)
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			u.conns.Add(1)
			u.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			u.open.Add(-1)
		}
	}
	u.Start()
	return u
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data := r.Method == http.MethodPost && r.URL.Path == "/api/elasticsearch/property/values-with-count"
	if data {
		u.calls.Add(1)
	} else if r.Method == http.MethodPost && r.URL.Path == "/api/authenticate" {
		u.logins.Add(1)
	}
	if u.latency > 0 {
		t := time.NewTimer(u.latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	if !data || r.Header.Get("Authorization") == "" {
		u.fake.ServeHTTP(w, r)
		return
	}
	// A body seen before gets the fake's first answer to it, as from
	// OpenSearch's request cache: the fake evaluates filters in this process
	// and would otherwise compete with the exporter for the CPU.
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if answer, ok := u.answers.Load(string(body)); ok {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer.([]byte))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	u.fake.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK {
		u.answers.Store(string(body), rec.Body.Bytes())
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
