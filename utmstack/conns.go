package utmstack

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	commoncfg "github.com/prometheus/common/config"
)

// How a client holds its connections to UTMStack: one http.Transport that
// keeps Options.Keep (or Client.Adjust's) idle connections between rounds, so a target probed
// once a minute reuses them with no new TCP or TLS handshake. A round's
// calls beyond those, in parallel, open more; net/http closes each of them
// as it comes back beyond the idle limit. An exporter with a thousand
// targets thus holds about a thousand idle connections rather than
// max_concurrency times as many (each HTTP/1.1 connection is a file
// descriptor, two goroutines and some KB of buffers). Over HTTP/2 (TLS with
// ALPN, where a proxy in front of UTMStack offers it; UTMStack's own nginx
// speaks HTTP/1.1) one connection carries every call of a round at once.
//
// The transport is built here from prometheus/common's pieces (TLS config,
// TLS files re-read, proxy) rather than by its NewRoundTripperFromConfig:
// that one wraps every dial in go-conntrack with tracing, a 6.7 KB event
// log per connection, and fixes MaxIdleConnsPerHost at 1000.

// keptIdleTimeout is above the usual scrape intervals (up to a minute) with
// room for jitter, and closes the connections of a target nobody probes
// any more within minutes.
const keptIdleTimeout = 2 * time.Minute

// connBufferSize is each connection's read and write buffer, 4 KB each by
// default, held for as long as the connection idles: 8 MB for a thousand
// targets. A call is under 1 KB (a values-with-count POST with its token
// and filters is 270 to 810 bytes), as are an answer's status line and
// headers; anything longer goes through in several reads or writes.
const connBufferSize = 1 << 10

func newHTTPClient(cfg commoncfg.HTTPClientConfig, keep func() int, checkRedirect func(*http.Request, []*http.Request) error) (*http.Client, error) {
	ctx := context.Background()
	tlsConfig, err := commoncfg.NewTLSConfigWithContext(ctx, &cfg.TLSConfig)
	if err != nil {
		return nil, err
	}
	// The connections opened beyond the kept ones resume its TLS session:
	// a cheaper handshake for UTMStack and for us.
	tlsConfig.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	dialer := &net.Dialer{}
	newTransport := func(tlsConfig *tls.Config) (http.RoundTripper, error) {
		return newKeptPool(keep, func(keep int) *http.Transport { return buildTransport(cfg, tlsConfig, dialer, keep) }), nil
	}
	settings := tlsFiles(cfg.TLSConfig)
	var rt http.RoundTripper
	if settings.CA == nil && settings.Cert == nil && settings.Key == nil {
		rt, err = newTransport(tlsConfig)
	} else {
		// A new transport whenever a CA, certificate or key file changes.
		rt, err = commoncfg.NewTLSRoundTripperWithContext(ctx, tlsConfig, settings, newTransport)
	}
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: rt, CheckRedirect: checkRedirect}, nil
}

// buildTransport is the transport of cfg that keeps keep idle connections.
func buildTransport(cfg commoncfg.HTTPClientConfig, tlsConfig *tls.Config, dialer *net.Dialer, keep int) *http.Transport {
	t := &http.Transport{
		Proxy:               cfg.Proxy(),
		ProxyConnectHeader:  cfg.GetProxyConnectHeader(),
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConfig.Clone(), // net/http adds h2 to its NextProtos: not to a shared one
		MaxIdleConnsPerHost: max(keep, 1),
		IdleConnTimeout:     keptIdleTimeout,
		WriteBufferSize:     connBufferSize,
		ReadBufferSize:      connBufferSize,
		// The deadline of each call is its round's, from the context.
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     cfg.EnableHTTP2,
	}
	if cfg.EnableHTTP2 {
		t.HTTP2 = &http.HTTP2Config{
			// As prometheus/common: a ping finds a dead HTTP/2 connection
			// that would otherwise hold every call of the next rounds.
			SendPingTimeout: time.Minute,
			// No HPACK dynamic tables (1 byte holds no entry; 0 means
			// the default 4 KB): each connection would otherwise keep two,
			// mostly the token, for as long as it idles, about 15 MiB of
			// RSS at a thousand targets (BENCHMARKS.md). The price is the
			// token sent whole with each call, under 1 KB.
			MaxEncoderHeaderTableSize: 1,
			MaxDecoderHeaderTableSize: 1,
		}
	}
	return t
}

// keptPool is one http.Transport at a time, the one built for the
// client's current keep: net/http reads MaxIdleConnsPerHost under a lock
// of its own, so a new keep takes a new transport rather than a change to
// the one in use. The next call after a change builds it (from settings
// already read: no file is read again); the replaced transport closes
// its idle connections at once, and those of calls still in flight as
// each call's body is closed.
type keptPool struct {
	keep  func() int
	build func(keep int) *http.Transport

	mu      sync.Mutex
	current atomic.Pointer[http.Transport]
}

func newKeptPool(keep func() int, build func(keep int) *http.Transport) *keptPool {
	p := &keptPool{keep: keep, build: build}
	p.current.Store(build(keep()))
	return p
}

// transport is the transport for the current keep.
func (p *keptPool) transport() *http.Transport {
	keep := p.keep()
	if t := p.current.Load(); t.MaxIdleConnsPerHost == keep {
		return t
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.current.Load()
	if old.MaxIdleConnsPerHost == keep {
		return old
	}
	t := p.build(keep)
	p.current.Store(t)
	old.CloseIdleConnections()
	return t
}

func (p *keptPool) RoundTrip(req *http.Request) (*http.Response, error) {
	t := p.transport()
	resp, err := t.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &pooledBody{ReadCloser: resp.Body, pool: p, from: t}
	return resp, nil
}

func (p *keptPool) CloseIdleConnections() { p.current.Load().CloseIdleConnections() }

// pooledBody closes the connection it came over once it is back in a
// transport that was replaced meanwhile: nothing would reuse it. net/http
// closes those of calls already in flight when the replaced transport's
// idle connections are closed, but a call that took the transport just
// before the swap would start its pool again.
type pooledBody struct {
	io.ReadCloser
	pool *keptPool
	from *http.Transport
}

func (b *pooledBody) Close() error {
	err := b.ReadCloser.Close()
	if b.pool.current.Load() != b.from {
		b.from.CloseIdleConnections()
	}
	return err
}

// tlsFiles are the TLS settings read from files, for the round tripper that
// re-reads them; inline ones never change.
func tlsFiles(c commoncfg.TLSConfig) commoncfg.TLSRoundTripperSettings {
	var s commoncfg.TLSRoundTripperSettings
	if c.CA == "" && c.CAFile != "" {
		s.CA = commoncfg.NewFileSecret(c.CAFile)
	}
	if c.Cert == "" && c.CertFile != "" {
		s.Cert = commoncfg.NewFileSecret(c.CertFile)
	}
	if c.Key == "" && c.KeyFile != "" {
		s.Key = commoncfg.NewFileSecret(c.KeyFile)
	}
	return s
}
