package utmstack

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	commoncfg "github.com/prometheus/common/config"
)

// How a client holds its connections to UTMStack: one http.Transport that
// keeps Options.Keep idle connections between rounds, so a target probed
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

func newHTTPClient(cfg commoncfg.HTTPClientConfig, keep int, checkRedirect func(*http.Request, []*http.Request) error) (*http.Client, error) {
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
		t := &http.Transport{
			Proxy:               cfg.Proxy(),
			ProxyConnectHeader:  cfg.GetProxyConnectHeader(),
			DialContext:         dialer.DialContext,
			TLSClientConfig:     tlsConfig,
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
		return t, nil
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
