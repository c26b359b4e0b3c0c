package utmstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const endpointAuthenticate = "authenticate"

// passwordAuth logs in with POST /api/authenticate and shares the JWT among
// all callers. Only one login is ever in flight, and it runs to its own
// deadline (Options.LoginTimeout), not the caller's: a slow login's answer
// serves the next call. A token is renewed shortly before its exp, and
// failed logins back off in the LoginLedger so the exporter cannot lock its
// own IP out.
type passwordAuth struct {
	c        *Client
	username string // as configured, for messages
	login    string // as sent: lower-cased, as UTMStack stores logins
	password Secret
	ledger   *LoginLedger
	key      ledgerKey
	fp       fingerprint

	mu        sync.Mutex
	token     string
	expiry    time.Time // zero: unknown, keep until a 401
	refreshAt time.Time
	inflight  *loginCall
	attempted bool // a login was sent: Options.OneLogin allows no other
	// The backoff after failures that UTMStack does not count toward its
	// lock-out (transport errors, 5xx, 403, a v12 API): the client's own,
	// so a reload that fixes the TLS or proxy settings retries at once.
	failures int
	retryAt  time.Time
	lastErr  *AuthError
}

// loginCall lets concurrent callers wait for the one login in flight.
type loginCall struct {
	done  chan struct{}
	token string
	err   error
}

func newPasswordAuth(c *Client, username string, password Secret) *passwordAuth {
	return &passwordAuth{
		c:        c,
		username: username,
		login:    strings.ToLower(username),
		password: password,
		ledger:   c.ledger,
		key:      newLedgerKey(c.base, username),
		fp:       c.ledger.fingerprint(password.Reveal()),
	}
}

func (a *passwordAuth) credential(ctx context.Context) (credential, error) {
	token, err := a.currentToken(ctx)
	if err != nil {
		return credential{}, err
	}
	return credential{
		method:    AuthPassword,
		token:     token,
		renewable: true,
		apply:     func(h http.Header) { h.Set("Authorization", "Bearer "+token) },
	}, nil
}

// invalidate drops the token a request was refused with, unless another
// caller has already replaced it.
func (a *passwordAuth) invalidate(cred credential) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token == cred.token {
		a.token, a.expiry, a.refreshAt = "", time.Time{}, time.Time{}
	}
}

func (a *passwordAuth) currentToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	now := a.c.now()
	if a.token != "" && (a.refreshAt.IsZero() || now.Before(a.refreshAt)) {
		token := a.token
		a.mu.Unlock()
		return token, nil
	}
	call := a.inflight
	if call == nil {
		held := a.ledger.hold(a.key, a.fp, now)
		if held == nil && now.Before(a.retryAt) {
			held = &AuthError{Reason: a.lastErr.Reason, Attempted: false, RetryAt: a.retryAt, next: nextLogin, Err: a.lastErr.Err}
		}
		if held != nil {
			token, err := a.duringBackoff(now, held)
			a.mu.Unlock()
			return token, err
		}
		if a.c.oneLogin && a.attempted {
			a.mu.Unlock()
			return "", &AuthError{Reason: ReasonError, Err: errors.New("a second login is needed (UTMStack refused the first token), and this client logs in once")}
		}
		if err := context.Cause(ctx); err != nil {
			a.mu.Unlock()
			return "", err // never sent: no attempt
		}
		a.attempted = true
		call = &loginCall{done: make(chan struct{})}
		a.inflight = call
		go a.run(ctx, call)
	}
	a.mu.Unlock()
	select {
	case <-call.done:
		return call.token, call.err
	case <-ctx.Done():
		return "", fmt.Errorf("the login to UTMStack was still running when this call's time ran out; its answer serves the next call: %w", context.Cause(ctx))
	}
}

// run performs the login under its own deadline, detached from the
// caller's: a scrape that ends meanwhile does not cut it off, so a
// UTMStack slower than the scrape budget still hands out a token.
func (a *passwordAuth) run(ctx context.Context, call *loginCall) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(a.c.loginTimeout.Load()))
	defer cancel()
	token, err := a.loginOnce(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight = nil
	call.token, call.err = token, err
	close(call.done)
}

// duringBackoff answers without contacting UTMStack while a login backoff
// runs: an older token that has not yet expired is still used.
func (a *passwordAuth) duringBackoff(now time.Time, held *AuthError) (string, error) {
	if a.token != "" && (a.expiry.IsZero() || now.Before(a.expiry)) {
		return a.token, nil
	}
	return "", held
}

// loginOnce performs one POST /api/authenticate and records its outcome.
func (a *passwordAuth) loginOnce(ctx context.Context) (string, error) {
	ctx, sent := traceSent(ctx)
	token, claims, reason, err := a.attempt(ctx)
	now := a.c.now()

	if err != nil {
		if isContextError(err) && ctx.Err() != nil {
			if !sent() || answeredOK(err) {
				// UTMStack never got the login, or accepted the password:
				// nothing counted toward the lock-out.
				return "", err
			}
			return "", a.unanswered(now, err)
		}
		authErr := &AuthError{Reason: reason, Attempted: true, next: nextLogin, Err: err}
		wait := func(n int) time.Duration { return loginWait(reason, n, err) }
		var retryAt time.Time
		if countsAtUTMStack(reason) {
			retryAt = a.ledger.failed(a.key, a.fp, now, wait, authErr)
		} else {
			a.mu.Lock()
			a.failures++
			a.retryAt, a.lastErr = now.Add(wait(a.failures)), authErr
			retryAt, authErr.RetryAt = a.retryAt, a.retryAt
			a.mu.Unlock()
		}
		if a.c.hooks.AuthFailure != nil {
			a.c.hooks.AuthFailure(reason)
		}
		a.c.logger.Warn("UTMStack login failed", "user", a.username, "reason", string(reason),
			"err", err, "next_attempt", retryAt.UTC().Format(time.RFC3339))
		return "", authErr
	}
	a.ledger.succeeded(a.key)
	a.mu.Lock()
	a.failures, a.retryAt, a.lastErr = 0, time.Time{}, nil
	a.token, a.expiry = token, claims.Expiry
	a.refreshAt = refreshTime(now, claims.Expiry)
	a.mu.Unlock()
	if a.c.hooks.Login != nil {
		a.c.hooks.Login()
	}
	a.c.logger.Debug("UTMStack login succeeded", "user", a.username, "expires", claims.Expiry.UTC().Format(time.RFC3339))
	return token, nil
}

// countsAtUTMStack tells whether a failed login is the UTMStack's and
// user's (the LoginLedger's) to remember: a refused password counts toward
// the IP lock-out, a lock-out and a TFA demand hold for any client. The
// other failures never reached UTMStack's judgement.
func countsAtUTMStack(reason Reason) bool {
	switch reason {
	case ReasonBadCredentials, ReasonLocked, ReasonTFARequired:
		return true
	}
	return false
}

// loginWait is the backoff after the n-th consecutive failed login. A
// lock-out's Retry-After may lengthen it, never shorten it: rate limiters
// send "Retry-After: 0" routinely, and a login each time it is honoured
// would add to UTMStack's failure count.
func loginWait(reason Reason, n int, err error) time.Duration {
	wait := loginBackoff(reason, n)
	var e *Error
	if reason == ReasonLocked && errors.As(err, &e) && e.retryAfterSet {
		wait = max(wait, e.retryAfter)
	}
	return wait
}

// unanswered records a login whose answer did not come within
// Options.LoginTimeout. UTMStack judges a request whose client has gone all
// the same, so a wrong password may have counted toward the lock-out: the
// login backs off on the credential schedule. No failure reason is counted,
// as none is known.
func (a *passwordAuth) unanswered(now time.Time, err error) error {
	authErr := &AuthError{Reason: ReasonError, Attempted: true, next: nextLogin,
		Err: fmt.Errorf("the login was sent but its answer did not arrive in time, and UTMStack may have counted it as a failed login: %w", err)}
	retryAt := a.ledger.failed(a.key, a.fp, now, func(n int) time.Duration { return loginBackoff(ReasonBadCredentials, n) }, authErr)
	a.c.logger.Warn("UTMStack login unanswered in time", "user", a.username, "err", err,
		"next_attempt", retryAt.UTC().Format(time.RFC3339))
	return authErr
}

// traceSent reports, once the request has ended, whether a whole request
// was written to UTMStack. net/http makes its trace calls before Do returns.
func traceSent(ctx context.Context) (context.Context, func() bool) {
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				sent.Store(true)
			}
		},
	})
	return ctx, sent.Load
}

// answeredOK tells whether UTMStack's 200 came before the body was cut off:
// the password was accepted, which resets UTMStack's failure count.
func answeredOK(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusOK
}

// tokenReuseFloor is the least time a token is kept before a login renews
// it ahead of its exp. A token that looks expired or about to lapse (a
// skewed clock, a short token-validity-in-seconds) would otherwise cost a
// login before nearly every call; it is kept until UTMStack refuses it or
// the floor has passed.
const tokenReuseFloor = 30 * time.Second

// refreshTime renews ahead of exp by a tenth of the remaining lifetime, at
// least a minute, so a scrape never starts with a token about to lapse;
// never sooner than tokenReuseFloor after the login.
func refreshTime(now, expiry time.Time) time.Time {
	if expiry.IsZero() {
		return time.Time{}
	}
	margin := max(expiry.Sub(now)/10, time.Minute)
	return later(expiry.Add(-margin), now.Add(tokenReuseFloor))
}

// attempt sends the login and classifies the answer.
func (a *passwordAuth) attempt(ctx context.Context) (string, tokenClaims, Reason, error) {
	payload, err := json.Marshal(struct {
		Username   string `json:"username"`
		Password   string `json:"password"`
		RememberMe bool   `json:"rememberMe"`
	}{a.login, a.password.Reveal(), false})
	if err != nil {
		return "", tokenClaims{}, ReasonError, errors.New("encoding the login request failed")
	}
	resp, err := a.c.send(ctx, endpointAuthenticate, http.MethodPost, "/api/authenticate", payload, func(h http.Header) {
		// v11.0.x forces TFA on every password login unless this header is
		// present (it is what UTMStack's own Swagger UI sends).
		h.Set("X-Bypass-TFA", "true")
	})
	if err != nil {
		return "", tokenClaims{}, ReasonError, err
	}
	rawErr := resp.header.Get("X-UtmStack-error") // judged whole, quoted cut
	utmErr := a.c.quoteHeader(rawErr)
	fail := func(reason Reason, msg string) (string, tokenClaims, Reason, error) {
		return "", tokenClaims{}, reason, &Error{Endpoint: endpointAuthenticate, Status: resp.status, UTMStackError: utmErr, Err: errors.New(msg)}
	}
	locked := func(msg string) (string, tokenClaims, Reason, error) {
		e := &Error{Endpoint: endpointAuthenticate, Status: resp.status, UTMStackError: utmErr, Err: errors.New(msg)}
		e.retryAfter, e.retryAfterSet = parseRetryAfter(resp.header.Get("Retry-After"), a.c.now())
		return "", tokenClaims{}, ReasonLocked, e
	}
	switch {
	case resp.status == http.StatusTooManyRequests:
		// v12 answers 429 to every login for 10 minutes after 9 failures;
		// a rate-limiting proxy answers it too, sometimes with Retry-After.
		// Either way a login sent meanwhile is refused unread.
		return locked("too many logins: UTMStack (v12 blocks an IP after 9 failed logins) or a proxy in front of it refuses logins from this IP for now")
	case resp.status == http.StatusLocked || mentionsBlock(rawErr) || (resp.status == http.StatusUnauthorized && mentionsBlock(string(resp.body))):
		return locked("UTMStack blocks this IP after 10 failed logins, for 10 minutes")
	case resp.status == http.StatusUnauthorized && strings.Contains(strings.ToLower(rawErr), "not found"):
		// v11.0.x: the password check passed, the lookup by the name as
		// sent did not.
		if strings.Contains(a.username, "@") {
			return "", tokenClaims{}, ReasonBadCredentials, &Error{Endpoint: endpointAuthenticate, Status: resp.status, UTMStackError: utmErr, Err: ErrEmailLogin}
		}
		return fail(ReasonBadCredentials, fmt.Sprintf("UTMStack accepted the password but found no user with the login %q", a.login))
	case resp.status == http.StatusUnauthorized:
		return fail(ReasonBadCredentials, fmt.Sprintf("bad credentials for user %q", a.username))
	case resp.status == http.StatusForbidden:
		return fail(ReasonForbidden, "login refused")
	case resp.status >= http.StatusInternalServerError && saysBadCredentials(rawErr, resp.body):
		// UTMStack's catch-all handler answers 500 for a refused password
		// that reached it wrapped; it still counted toward the lock-out.
		return fail(ReasonBadCredentials, fmt.Sprintf("bad credentials for user %q (UTMStack said so with HTTP %d)", a.username, resp.status))
	case resp.status == http.StatusNotFound && a.c.speaksV12(ctx):
		return "", tokenClaims{}, ReasonUnsupportedAPI, &Error{Endpoint: endpointAuthenticate, Status: resp.status, Err: errV12}
	case resp.status != http.StatusOK:
		return fail(ReasonError, fmt.Sprintf("unexpected login answer: %s", describeBody(resp.body)))
	}
	answer, err := parseLoginResponse(resp.body)
	if err != nil {
		return fail(ReasonError, err.Error())
	}
	if answer.tfaRequired {
		return fail(ReasonTFARequired, "UTMStack answered with a two-factor pre-verification token; "+
			"give the exporter a user without TFA, set APP_TFA_ENABLED=false, or use an API key")
	}
	claims, err := parseTokenClaims(answer.token)
	if err != nil {
		// An opaque token still works; it is renewed on its first 401.
		claims = tokenClaims{}
	}
	return answer.token, claims, "", nil
}

// saysBadCredentials tells whether an error answer names a refused password,
// in X-UtmStack-error or its body (problem+json's detail).
func saysBadCredentials(utmErr string, body []byte) bool {
	const text = "bad credentials"
	return strings.Contains(strings.ToLower(utmErr), text) || bytes.Contains(bytes.ToLower(body), []byte(text))
}

// ErrEmailLogin is the cause of a login refused because the username is
// an e-mail address that UTMStack v11.0.x accepts for the password check
// but then cannot find as a login name.
var ErrEmailLogin = errors.New("UTMStack accepted the password for this e-mail address but looks the user up by its login name " +
	"(v11.0.x): set the username to the user's login name, not the e-mail address")

func mentionsBlock(s string) bool { return strings.Contains(strings.ToLower(s), "blocked") }

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
