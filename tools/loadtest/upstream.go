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

// What the upstream counts.
const (
	values    = iota // values-with-count with a window: the queries' counts
	searches         // POST /api/elasticsearch/search: the ages
	incidents        // GET /api/utm-incidents, one per status
	periodic         // an unfiltered values-with-count per index pattern, or GET /management/info
	logins           // POST /api/authenticate
	roundsOf         // query all's status count, made exactly once per round by every version
	conns            // TCP connections accepted
	kinds
)

type counts [kinds]int64

func (c counts) calls() int64 { return c[values] + c[searches] + c[incidents] + c[periodic] }

// since is what was counted after b.
func (c counts) since(b counts) counts {
	for k := range c {
		c[k] -= b[k]
	}
	return c
}

// upstream serves the fake UTMStack on a loopback port of its own, delays every answer by latency, and counts what the
// exporter does to it.
type upstream struct {
	*httptest.Server
	fake    *utmstacktest.Server
	latency time.Duration
	n       [kinds]atomic.Int64
	open    atomic.Int64 // connections open now
	answers sync.Map     // request -> *httptest.ResponseRecorder
}

func newUpstream(o options, latency time.Duration) (*upstream, error) {
	u := &upstream{fake: o.fake, latency: latency}
	u.Server = httptest.NewUnstartedServer(u)
	u.Config.IdleTimeout = 65 * time.Second // the keepalive_timeout of UTMStack's nginx
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			u.n[conns].Add(1)
			u.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			u.open.Add(-1)
		}
	}
	u.Start()
	return u, nil
}

func (u *upstream) counts() (c counts) {
	for k := range c {
		c[k] = u.n[k].Load()
	}
	return c
}

// connections is what d, counted over a part of the run, cost in new
// connections per unit: every probe, or 1000 scrapes.
func (u *upstream) connections(d counts, units float64, per, budget string) []result {
	return []result{{"new upstream connections " + per, "", budget, float64(d[conns]) / units}}
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch p := r.URL.Path; {
	case p == "/api/authenticate":
		u.n[logins].Add(1)
	case p == "/api/elasticsearch/property/values-with-count" && bytes.Contains(body, []byte(`"@timestamp"`)):
		u.n[values].Add(1)
		// all has no filter of its own; open's is status IS 2.
		if bytes.Contains(body, []byte(`"field":"status"`)) && !bytes.Contains(body, []byte(`"value":2`)) {
			u.n[roundsOf].Add(1)
		}
	case p == "/api/elasticsearch/property/values-with-count" || p == "/management/info":
		u.n[periodic].Add(1)
	case p == "/api/elasticsearch/search":
		u.n[searches].Add(1)
	case p == "/api/utm-incidents":
		u.n[incidents].Add(1)
	}
	time.Sleep(u.latency)
	// A request seen before gets the fake's first answer to it, as from
	// OpenSearch's request cache: the fake evaluates filters in this process
	// and would otherwise take CPU from the exporter (BENCHMARKS.md).
	key := r.Method + " " + r.URL.RequestURI() + "\n" + string(body)
	replay := r.Header.Get("Authorization") != "" && r.URL.Path != "/api/authenticate"
	answer, seen := u.answers.Load(key)
	if !seen || !replay {
		rec := httptest.NewRecorder()
		u.fake.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK && replay {
			u.answers.Store(key, rec)
		}
		answer = rec
	}
	rec := answer.(*httptest.ResponseRecorder)
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
