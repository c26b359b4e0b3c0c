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

// The calls the upstream counts, by kind.
const (
	values    = iota // values-with-count with a window: the queries' counts
	searches         // POST /api/elasticsearch/search: the ages
	incidents        // GET /api/utm-incidents, one per status
	periodic         // an unfiltered values-with-count per index pattern, or GET /management/info
	logins           // POST /api/authenticate
	roundsOf         // query all's status count, made exactly once per round by every version
	kinds
)

type counts [kinds]int64

func (c counts) calls() int64 { return c[values] + c[searches] + c[incidents] + c[periodic] }

func (c counts) minus(b counts) counts {
	for k := range c {
		c[k] -= b[k]
	}
	return c
}

// upstream serves the fake UTMStack on a loopback port of its own, delays
// every answer by latency, and counts what the exporter does to it.
type upstream struct {
	*httptest.Server
	fake        *utmstacktest.Server
	latency     time.Duration
	n           [kinds]atomic.Int64
	conns, open atomic.Int64 // TCP connections opened, and open now
	answers     sync.Map     // request -> *httptest.ResponseRecorder
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

func (u *upstream) counts() (c counts) {
	for k := range c {
		c[k] = u.n[k].Load()
	}
	return c
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch p := r.URL.Path; {
	case p == "/api/authenticate":
		u.n[logins].Add(1)
	case p == "/api/elasticsearch/property/values-with-count" && bytes.Contains(body, []byte(`"@timestamp"`)):
		// all has no filter of its own; open's is status IS 2.
		if u.n[values].Add(1); bytes.Contains(body, []byte(`"field":"status"`)) && !bytes.Contains(body, []byte(`"value":2`)) {
			u.n[roundsOf].Add(1)
		}
	case p == "/api/elasticsearch/property/values-with-count" || p == "/management/info":
		u.n[periodic].Add(1)
	case p == "/api/elasticsearch/search":
		u.n[searches].Add(1)
	case p == "/api/utm-incidents":
		u.n[incidents].Add(1)
	}
	if u.latency > 0 {
		select {
		case <-time.After(u.latency):
		case <-r.Context().Done():
			return
		}
	}
	// A request seen before gets the fake's first answer to it, as from
	// OpenSearch's request cache: the fake evaluates filters in this process
	// and would otherwise take CPU from the exporter (BENCHMARKS.md).
	key, replay := r.Method+" "+r.URL.RequestURI()+"\n"+string(body), r.Header.Get("Authorization") != "" && r.URL.Path != "/api/authenticate"
	a, ok := u.answers.Load(key)
	if !ok || !replay {
		rec := httptest.NewRecorder()
		u.fake.ServeHTTP(rec, r)
		if a = rec; rec.Code == http.StatusOK && replay {
			u.answers.Store(key, rec)
		}
	}
	rec := a.(*httptest.ResponseRecorder)
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
