package round

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Client is what a round asks of one UTMStack; *utmstack.Client in the
// exporter.
type Client interface {
	ValuesWithCount(ctx context.Context, req utmstack.ValuesRequest) (map[string]int64, error)
	AlertTime(ctx context.Context, index string, filters []utmstack.Filter, oldest bool) (at time.Time, found bool, err error)
	CountIncidents(ctx context.Context, status string) (int64, error)
	Version(ctx context.Context) (string, error)
	// Unauthorized counts the 401s data calls met: a token that expired,
	// or a UTMStack that restarted (and may have been upgraded).
	Unauthorized() uint64
	// Adjust sets the idle connections kept and the login timeout of a
	// client a reload keeps.
	Adjust(keep int, loginTimeout time.Duration)
	Close()
}

// Env is what every instance of a process shares.
type Env struct {
	// Client is what every client gets besides its own settings and hooks:
	// the user agent, and state of the process rather than of one client.
	Client utmstack.Options
	// NewClient builds a client; utmstack.New when nil.
	NewClient func(utmstack.Options) (Client, error)
	Logger    *slog.Logger     // discarded when nil
	Now       func() time.Time // the rounds' and clients' clock; time.Now when nil
}

func (env Env) withDefaults() Env {
	if env.NewClient == nil {
		env.NewClient = newUTMStackClient
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	return env
}

func newUTMStackClient(opts utmstack.Options) (Client, error) {
	c, err := utmstack.New(opts)
	if err != nil {
		return nil, err // not a nil *utmstack.Client in a non-nil Client
	}
	return c, nil
}

// newClient builds the client of s from its settings.
func (env Env) newClient(s Setup, settings utmstack.Options) (Client, error) {
	url := settings.URL.String()
	opts := s.UTMStack.ClientOptions(env.Client)
	opts.Hooks, opts.Keep = s.Hooks, s.Keep
	opts.Logger, opts.Now = env.Logger.With("url", url), env.Now
	opts.LoginTimeout = s.UTMStack.Timeout // a login may outlive the scrape, not utmstack.timeout
	c, err := env.NewClient(opts)
	if err != nil {
		return nil, fmt.Errorf("building the UTMStack client for %s: %w", url, err)
	}
	if s.UTMStack.TLSConfig.InsecureSkipVerify {
		env.Logger.Warn("TLS certificate verification of UTMStack is disabled (tls_config.insecure_skip_verify); credentials can be intercepted", "url", url)
	}
	return c, nil
}
