package main

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
	full             // TLS handshakes in full
	resumed          // TLS handshakes that resumed a session
	overH2           // TLS handshakes that chose HTTP/2
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

// upstream serves the fake UTMStack on a loopback port of its own as
// -upstream says, delays every answer by latency, and counts what the
// exporter does to it.
type upstream struct {
	*httptest.Server
	fake    *utmstacktest.Server
	latency time.Duration
	caFile  string // its certificate, for the exporter's tls_config; "" over http
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
	if o.upstream == "http" {
		u.Start()
		return u, nil
	}
	// httptest offers HTTP/1.1 alone over ALPN, as nginx's "listen 443 ssl",
	// or with EnableHTTP2 HTTP/2 alone.
	u.EnableHTTP2 = o.upstream == "h2"
	u.TLS = &tls.Config{VerifyConnection: u.handshake}
	u.StartTLS()
	u.caFile = filepath.Join(o.dir, "ca-"+strings.TrimPrefix(u.URL, "https://")+".pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: u.Certificate().Raw})
	if err := os.WriteFile(u.caFile, cert, 0o600); err != nil {
		u.Close()
		return nil, err
	}
	return u, nil
}

// handshake is called by every TLS handshake, resumed ones too.
func (u *upstream) handshake(cs tls.ConnectionState) error {
	if cs.DidResume {
		u.n[resumed].Add(1)
	} else {
		u.n[full].Add(1)
	}
	if cs.NegotiatedProtocol == "h2" {
		u.n[overH2].Add(1)
	}
	return nil
}

// tlsConfig is the exporter's tls_config for this upstream, if any.
func (u *upstream) tlsConfig(indent string) string {
	if u.caFile == "" {
		return ""
	}
	return indent + "tls_config: {ca_file: " + u.caFile + "}\n"
}

func (u *upstream) counts() (c counts) {
	for k := range c {
		c[k] = u.n[k].Load()
	}
	return c
}

// connections are the rows of what d, counted over a part of the run, cost
// in connections and handshakes per unit: every scrape or probe, or 1000.
func (u *upstream) connections(d counts, units float64, per, budget string) []result {
	rs := []result{{"new upstream connections " + per, "", budget, float64(d[conns]) / units}}
	if u.caFile == "" {
		return rs
	}
	total := u.counts()
	return append(rs, result{"full TLS handshakes " + per, "", budget, float64(d[full]) / units},
		result{"resumed TLS handshakes " + per, "", budget, float64(d[resumed]) / units},
		result{"TLS handshakes that chose HTTP/2, of all", " %", "reported", 100 * float64(total[overH2]) / float64(total[full]+total[resumed])})
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch p := r.URL.Path; {
	case p == "/api/authenticate":
		u.n[logins].Add(1)
	// A query's counts carry filters (open has no window, but its status and
	// exclusions); an index total has none.
	case p == "/api/elasticsearch/property/values-with-count" && bytes.Contains(body, []byte(`"operator"`)):
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
