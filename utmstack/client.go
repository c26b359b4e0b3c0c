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
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
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
	// OneLogin allows one password login over the client's life, for a
	// one-shot check that must not add to UTMStack's lock-out count.
	OneLogin bool
	// Keep is how many idle connections stay open between rounds, 1 when
	// 0 (conns.go). Those opened for more calls at once are closed as they
	// come back. Adjust changes it.
	Keep int
	// LoginTimeout bounds a password login (utmstack.timeout),
	// DefaultLoginTimeout when 0. A login runs to it even when the call
	// that started it ends sooner; its answer serves the next call.
	// Adjust changes it.
	LoginTimeout time.Duration
	// Ledger holds the failed-login budget of each UTMStack and user; give
	// every client of a process the same one, so that clients replaced by
	// a reload do not start afresh. nil: a ledger private to this client.
	Ledger *LoginLedger
}

// DefaultLoginTimeout is the default of utmstack.timeout.
const DefaultLoginTimeout = 10 * time.Second

// Client talks to one UTMStack instance. It is safe for concurrent use; all
// callers share one token and one login backoff.
type Client struct {
	base      *url.URL
	http      *http.Client
	auth      authenticator
	hooks     Hooks
	logger    *slog.Logger
	now       func() time.Time
	maxBody   int64
	userAgent string
	secrets   []string // the credentials in every form sent, kept out of quoted answers
	oneLogin  bool
	ledger    *LoginLedger
	// loginTimeout bounds a login, whoever waits for it; keep is
	// Options.Keep. Both as Adjust last set them.
	loginTimeout atomic.Int64 // a time.Duration
	keep         atomic.Int64
	closed       atomic.Bool
	// unauthorized counts 401s on data calls: a token that expired, or a
	// UTMStack that restarted (and may have been upgraded).
	unauthorized atomic.Uint64
	v12          struct {
		sync.Mutex
		seenAt time.Time // of the last health check that found v12
		logged bool
	}

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
		secrets:   secretForms(opts.Credentials.Secret.Reveal(), opts.HTTP.ProxyURL.URL),
		oneLogin:  opts.OneLogin,
		ledger:    opts.Ledger,
	}
	c.Adjust(opts.Keep, opts.LoginTimeout)
	if c.ledger == nil {
		c.ledger = NewLoginLedger()
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
	if c.http, err = newHTTPClient(opts.HTTP, c.keptConns, c.checkRedirect); err != nil {
		return nil, fmt.Errorf("utmstack: HTTP client settings: %w", err)
	}
	c.auth, err = newAuthenticator(c, opts.Credentials)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Adjust sets what a reload may change on a client it keeps, as
// Options.Keep and Options.LoginTimeout: the token, the login backoff and
// the connections stay. A login already running keeps its deadline; the
// idle-connection limit applies from the next call.
func (c *Client) Adjust(keep int, loginTimeout time.Duration) {
	if loginTimeout <= 0 {
		loginTimeout = DefaultLoginTimeout
	}
	c.loginTimeout.Store(int64(loginTimeout))
	c.keep.Store(int64(max(keep, 1)))
}

func (c *Client) keptConns() int { return int(c.keep.Load()) }

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
			status, prev.Method, prev.URL.Path, c.quoteHeader(req.URL.Path), req.Method)
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
	c.http.CloseIdleConnections()
}

// response is an answer whose body was read within the size limit.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send performs one HTTP exchange. It fails only when no usable answer came;
// any status code is returned for the caller to judge. path may carry a
// query string.
func (c *Client) send(ctx context.Context, endpoint, method, path string, payload []byte, decorate func(http.Header)) (*response, error) {
	u, err := c.base.Parse(path)
	if err != nil {
		return nil, &Error{Endpoint: endpoint, Err: err}
	}
	var reqBody io.Reader
	if payload != nil {
		reqBody = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reqBody)
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
			c.http.CloseIdleConnections()
		}
	}()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(endpoint, 0)
		return nil, &Error{Endpoint: endpoint, Err: transportError(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	c.observe(endpoint, resp.StatusCode)
	body, err := readBody(resp.Body, c.maxBody, resp.ContentLength)
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

// apiCall is one call to a data endpoint. POST when payload is set, GET
// otherwise.
type apiCall struct {
	endpoint string // the upstream_requests_total label
	path     string // with its query string
	payload  []byte
	// ownForbidden: a 403 is this endpoint's own (the user may not read
	// it), not a rejected credential that holds every call back.
	ownForbidden bool
}

// call makes a data call with credentials. A 401 with a password token
// means the token expired or UTMStack restarted (the signing key is new at
// every start): the token is dropped, the client logs in once and retries
// once. Never more.
func (c *Client) call(ctx context.Context, ac apiCall) (*response, error) {
	if err := c.rejections.check(c.now()); err != nil {
		return nil, err
	}
	method := http.MethodGet
	if ac.payload != nil {
		method = http.MethodPost
	}
	for attempt := 0; ; attempt++ {
		cred, err := c.auth.credential(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(ctx, ac.endpoint, method, ac.path, ac.payload, cred.apply)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized {
			c.unauthorized.Add(1)
		}
		if resp.status == http.StatusUnauthorized && cred.renewable && attempt == 0 {
			c.auth.invalidate(cred)
			continue
		}
		return c.judge(ctx, ac, resp, cred)
	}
}

// Unauthorized tells how many data calls UTMStack has answered 401 (a
// token expired, or UTMStack restarted and may have been upgraded).
func (c *Client) Unauthorized() uint64 { return c.unauthorized.Load() }

// judge turns a data answer into the answer or an error.
func (c *Client) judge(ctx context.Context, ac apiCall, resp *response, cred credential) (*response, error) {
	endpoint := ac.endpoint
	utmErr := c.quoteHeader(resp.header.Get("X-UtmStack-error"))
	switch {
	case resp.status == http.StatusOK:
		c.rejections.reset()
		return resp, nil
	case resp.status == http.StatusNotFound && c.speaksV12(ctx):
		return nil, c.rejected(cred.method, ReasonUnsupportedAPI, &Error{Endpoint: endpoint, Status: resp.status, Err: errV12})
	case resp.status == http.StatusForbidden && ac.ownForbidden:
		return nil, &Error{Endpoint: endpoint, Status: resp.status, UTMStackError: utmErr,
			Err: errors.New("access denied: the user may not read this")}
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

// errV12 says what a 404 from a UTMStack that speaks the v12 API means.
var errV12 = errors.New("UTMStack answers 404 here while /api/v1/health answers 200: this is the API of UTMStack v12, " +
	"which this exporter does not speak yet (see docs/utmstack-v12.md); point it at a v10 or v11 UTMStack")

// speaksV12 asks the public GET /api/v1/health of UTMStack v12, after a 404
// where v10 and v11 answer; the calls of one round that meet the same 404
// ask once. The first time it finds v12 it logs what to do.
func (c *Client) speaksV12(ctx context.Context) bool {
	c.v12.Lock()
	defer c.v12.Unlock()
	now := c.now()
	if !c.v12.seenAt.IsZero() && now.Sub(c.v12.seenAt) < credentialBackoffStart {
		return true
	}
	resp, err := c.send(ctx, endpointV12Health, http.MethodGet, "/api/v1/health", nil, nil)
	if err != nil || resp.status != http.StatusOK {
		return false
	}
	c.v12.seenAt = now
	if !c.v12.logged {
		c.v12.logged = true
		c.logger.Error("UTMStack runs the v12 API (/api/v1), which this exporter does not speak yet: it holds its calls back as for refused credentials; see docs/utmstack-v12.md")
	}
	return true
}

const endpointV12Health = "v1_health"
