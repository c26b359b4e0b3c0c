// Package utmstack is a client for the parts of UTMStack's REST API that the
// exporter needs: logging in (three ways) and counting alerts with terms
// aggregations. It has no Prometheus dependencies; callers observe it
// through Hooks.
package utmstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	commoncfg "github.com/prometheus/common/config"
)

// AuthMethod is one of the three ways UTMStack lets a client in.
type AuthMethod string

const (
	AuthPassword    AuthMethod = "password"     // POST /api/authenticate -> JWT
	AuthAPIKey      AuthMethod = "api_key"      // user-managed key (v11.0.x+)
	AuthInternalKey AuthMethod = "internal_key" // the instance's Utm-Internal-Key
)

// Credentials say how to authenticate. Username is used by AuthPassword only.
type Credentials struct {
	Method   AuthMethod
	Username string
	Secret   Secret
}

// Hooks let the caller count what the client does. Any of them may be nil;
// they are called synchronously and must be cheap and goroutine-safe.
type Hooks struct {
	// Request is called for every HTTP exchange with UTMStack; code is the
	// status code, or 0 when no answer came.
	Request func(endpoint string, code int)
	// Login is called after each successful password login.
	Login func()
	// AuthFailure is called for each failed authentication UTMStack
	// answered or that could not reach it; not for calls refused locally
	// during a backoff, nor for a login sent whose answer did not arrive
	// in time (its outcome is unknown).
	AuthFailure func(reason Reason)
}

// Options configure a Client.
type Options struct {
	URL          *url.URL // scheme://host[:port]; the API lives under /api
	Credentials  Credentials
	HTTP         commoncfg.HTTPClientConfig // TLS, proxy
	Hooks        Hooks
	Logger       *slog.Logger
	Now          func() time.Time // fake clocks in tests; time.Now otherwise
	MaxBodyBytes int64            // DefaultMaxBodyBytes when 0
	UserAgent    string
	// Keep is how many connections stay open between rounds, 1 when 0
	// (conns.go). More calls at once than that use spare connections,
	// closed by CloseSpareConnections.
	Keep int
}

// Client talks to one UTMStack instance. It is safe for concurrent use; all
// callers share one token and one login backoff.
type Client struct {
	base      *url.URL
	conns     *pools
	auth      authenticator
	hooks     Hooks
	logger    *slog.Logger
	now       func() time.Time
	maxBody   int64
	userAgent string
	secret    string // the configured credential, kept out of quoted answers
	closed    atomic.Bool

	rejections rejectionBackoff
}

// New builds a client. It does not contact UTMStack.
func New(opts Options) (*Client, error) {
	if opts.URL == nil || opts.URL.Host == "" || (opts.URL.Scheme != "http" && opts.URL.Scheme != "https") {
		return nil, errors.New("utmstack: URL must be an absolute http or https URL")
	}
	c := &Client{
		base:      &url.URL{Scheme: opts.URL.Scheme, Host: opts.URL.Host},
		hooks:     opts.Hooks,
		logger:    opts.Logger,
		now:       opts.Now,
		maxBody:   opts.MaxBodyBytes,
		userAgent: opts.UserAgent,
		secret:    opts.Credentials.Secret.Reveal(),
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.userAgent == "" {
		c.userAgent = "utmstack_exporter"
	}
	var err error
	if c.conns, err = newPools(opts.HTTP, opts.Keep, c.checkRedirect); err != nil {
		return nil, fmt.Errorf("utmstack: HTTP client settings: %w", err)
	}
	c.auth, err = newAuthenticator(c, opts.Credentials)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// checkRedirect follows a redirect only on the configured scheme and host:
// Go strips Authorization on a cross-host redirect but not Utm-Api-Key or
// Utm-Internal-Key, so the client refuses the hop instead. It also refuses
// a 301, 302 or 303 on a POST, which Go follows as a GET without the body:
// the answer to that would be judged as the answer to the POST (a 401 from
// GET /api/authenticate taken for a wrong password).
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Host != c.base.Host || req.URL.Scheme != c.base.Scheme {
		return fmt.Errorf("refusing redirect to %s://%s: credentials go only to %s", req.URL.Scheme, req.URL.Host, c.base.Host)
	}
	if prev := via[len(via)-1]; req.Method != prev.Method {
		status := 0
		if req.Response != nil {
			status = req.Response.StatusCode
		}
		// The path only: a query string could carry anything.
		return fmt.Errorf("refusing HTTP %d redirect of %s %s to %s: it would be sent as a %s without its body",
			status, prev.Method, prev.URL.Path, c.scrubText(req.URL.Path), req.Method)
	}
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	return nil
}

// Close releases idle connections, and those of requests still in flight
// as each one ends: a client replaced by a reload may still be finishing a
// round, and its connections would otherwise idle on for minutes.
func (c *Client) Close() {
	c.closed.Store(true)
	c.conns.closeAll()
}

// CloseSpareConnections closes the connections opened beyond those kept
// between rounds; call it when a round is over.
func (c *Client) CloseSpareConnections() { c.conns.closeSpare() }

// response is an answer whose body was read within the size limit.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send performs one HTTP exchange. It fails only when no usable answer came;
// any status code is returned for the caller to judge.
func (c *Client) send(ctx context.Context, endpoint, method, path string, payload []byte, decorate func(http.Header)) (*response, error) {
	u := *c.base
	u.Path = path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, &Error{Endpoint: endpoint, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if decorate != nil {
		decorate(req.Header)
	}
	defer func() {
		if c.closed.Load() {
			c.conns.closeAll()
		}
	}()
	client, release := c.conns.client()
	resp, err := client.Do(req)
	defer release(resp) // after the body is closed, below
	if err != nil {
		c.observe(endpoint, 0)
		return nil, &Error{Endpoint: endpoint, Err: transportError(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	c.observe(endpoint, resp.StatusCode)
	body, err := readBody(resp.Body, c.maxBody)
	if err != nil {
		var tooLarge errBodyLimit
		return nil, &Error{Endpoint: endpoint, Status: resp.StatusCode, Err: err, incomplete: !errors.As(err, &tooLarge)}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// transportError drops the *url.Error wrapper's method and URL repetition
// but keeps the cause (refused, timeout, TLS, redirect refused).
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *Client) observe(endpoint string, code int) {
	if c.hooks.Request != nil {
		c.hooks.Request(endpoint, code)
	}
}

// call POSTs payload to a data endpoint with credentials. A 401 with a
// password token means the token expired or UTMStack restarted (the signing
// key is new at every start): the token is dropped, the client logs in once
// and retries once. Never more.
func (c *Client) call(ctx context.Context, endpoint, path string, payload []byte) ([]byte, error) {
	if err := c.rejections.check(c.now()); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		cred, err := c.auth.credential(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(ctx, endpoint, http.MethodPost, path, payload, cred.apply)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized && cred.renewable && attempt == 0 {
			c.auth.invalidate(cred)
			continue
		}
		return c.judge(endpoint, resp, cred)
	}
}

// judge turns a data answer into its body or an error.
func (c *Client) judge(endpoint string, resp *response, cred credential) ([]byte, error) {
	utmErr := c.scrubText(resp.header.Get("X-UtmStack-error"))
	switch {
	case resp.status == http.StatusOK:
		c.rejections.reset()
		return resp.body, nil
	case resp.status == http.StatusUnauthorized:
		return nil, c.rejected(cred.method, ReasonBadCredentials, &Error{Endpoint: endpoint, Status: resp.status, UTMStackError: utmErr,
			Err: fmt.Errorf("%s credentials rejected", cred.method)})
	case resp.status == http.StatusForbidden:
		return nil, c.rejected(cred.method, ReasonForbidden, &Error{Endpoint: endpoint, Status: resp.status, UTMStackError: utmErr,
			Err: errors.New("access denied: the user lacks ROLE_USER/ROLE_ADMIN, or a proxy refused the request")})
	case resp.status == http.StatusInternalServerError && cred.method == AuthAPIKey && utmErr == "" && isSpringError(resp.body, resp.status):
		// UTMStack's ApiKeyFilter throws outside Spring Security, so an
		// unknown, expired or IP-denied key surfaces as a 500 that Spring
		// Boot renders as its default error JSON; the controllers' own 500s
		// carry X-UtmStack-error. A 500 page of a proxy is neither.
		return nil, c.rejected(cred.method, ReasonBadCredentials, &Error{Endpoint: endpoint, Status: resp.status,
			Err: errors.New("API key rejected (unknown, expired, or the caller's IP is not allowed)")})
	}
	return nil, &Error{Endpoint: endpoint, Status: resp.status, UTMStackError: utmErr, Err: fmt.Errorf("unexpected answer: %s", snippet(c.scrub(resp.body)))}
}

// rejected reports a credential UTMStack refused on a data call.
func (c *Client) rejected(method AuthMethod, reason Reason, err error) error {
	if c.hooks.AuthFailure != nil {
		c.hooks.AuthFailure(reason)
	}
	return c.rejections.record(c.now(), &AuthError{Reason: reason, Attempted: true, next: nextRequest(method), Err: err})
}
