package utmstack

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync/atomic"
	"time"

	commoncfg "github.com/prometheus/common/config"
)

// How a client holds its connections to UTMStack. It keeps Options.Keep
// connections open between rounds: a target probed once a minute reuses
// them, with no new TCP or TLS handshake. The calls a round makes beyond
// those, in parallel, go over spare connections that CloseSpareConnections
// closes when the round is over, so an exporter with a thousand targets
// holds about a thousand idle connections rather than max_concurrency
// times as many (each HTTP/1.1 connection is a file descriptor, two
// goroutines and some tens of KB). Over HTTP/2 (TLS with ALPN, where a
// proxy in front of UTMStack offers it; UTMStack's own nginx speaks
// HTTP/1.1) a kept connection carries every call of a round at once.
const (
	// keptIdleTimeout is above the usual scrape intervals (up to a
	// minute) with room for jitter, and closes the connections of a
	// target nobody probes any more within minutes.
	keptIdleTimeout = 2 * time.Minute
	// spareIdleTimeout bounds a spare connection's idle life should no
	// one call CloseSpareConnections.
	spareIdleTimeout = 10 * time.Second
)

// pools are the client's two sets of connections, both built by
// prometheus/common from the same settings (TLS, proxy, files re-read).
type pools struct {
	kept, spare *http.Client
	slots       chan struct{} // one per kept connection; a call holds one while it runs
	multiplexed atomic.Bool   // the last answer on a kept connection came over HTTP/2
}

func newPools(cfg commoncfg.HTTPClientConfig, keep int, checkRedirect func(*http.Request, []*http.Request) error) (*pools, error) {
	// One session cache for both sets: a spare connection resumes the
	// kept one's TLS session, a cheaper handshake for UTMStack and for us.
	sessions := tls.NewLRUClientSessionCache(8)
	withSessions := commoncfg.WithNewTLSConfigFunc(func(ctx context.Context, c *commoncfg.TLSConfig, o ...commoncfg.TLSConfigOption) (*tls.Config, error) {
		tlsConfig, err := commoncfg.NewTLSConfigWithContext(ctx, c, o...)
		if err != nil {
			return nil, err
		}
		tlsConfig.ClientSessionCache = sessions
		return tlsConfig, nil
	})
	kept, err := commoncfg.NewRoundTripperFromConfig(cfg, "utmstack_exporter", withSessions, commoncfg.WithIdleConnTimeout(keptIdleTimeout))
	if err != nil {
		return nil, err
	}
	spare, err := commoncfg.NewRoundTripperFromConfig(cfg, "utmstack_exporter", withSessions, commoncfg.WithIdleConnTimeout(spareIdleTimeout))
	if err != nil {
		return nil, err
	}
	return &pools{
		kept:  &http.Client{Transport: kept, CheckRedirect: checkRedirect},
		spare: &http.Client{Transport: spare, CheckRedirect: checkRedirect},
		slots: make(chan struct{}, max(keep, 1)),
	}, nil
}

// client sends a request over a kept connection when one is free (or the
// kept connection multiplexes), else over a spare one. release must be
// called once the answer's body is closed, so that the connection is back
// among the idle ones before its slot is taken again.
func (p *pools) client() (c *http.Client, release func(*http.Response)) {
	if p.multiplexed.Load() {
		return p.kept, p.observe
	}
	select {
	case p.slots <- struct{}{}:
		return p.kept, func(resp *http.Response) {
			p.observe(resp)
			<-p.slots
		}
	default:
		return p.spare, func(*http.Response) {}
	}
}

// observe notes whether the kept connection speaks HTTP/2.
func (p *pools) observe(resp *http.Response) {
	if resp != nil {
		p.multiplexed.Store(resp.ProtoMajor == 2)
	}
}

// closeSpare closes the idle spare connections.
func (p *pools) closeSpare() { p.spare.CloseIdleConnections() }

// closeAll closes every idle connection.
func (p *pools) closeAll() {
	p.kept.CloseIdleConnections()
	p.spare.CloseIdleConnections()
}
