package utmstack

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// UTMStack blocks a source IP for 10 minutes once it has seen 10 failed
// logins from it (LoginAttemptService, MAX_ATTEMPT = 10; v12 after 9, with
// a 429). The schedule below
// keeps one exporter at 3 attempts in any 10 minutes with a wrong password,
// so even an HA pair behind one NAT stays under the threshold. Two minutes
// at first, so that with the usual 60 s scrape interval a refused login is
// never repeated on the next scrape.
const (
	credentialBackoffStart = 2 * time.Minute
	credentialBackoffMax   = 15 * time.Minute
	lockedBackoffStart     = 11 * time.Minute // the block lasts 10 minutes; also a lock-out without Retry-After
	lockedBackoffMax       = 30 * time.Minute
	errorBackoffStart      = 2 * time.Second // transport errors and 5xx don't count toward the block
	errorBackoffMax        = time.Minute
)

// retryAfterMax bounds the wait a lock-out's Retry-After can impose: a
// longer one is more likely a proxy's misconfiguration than a real block,
// and the exporter would report nothing for that long.
const retryAfterMax = time.Hour

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3), either
// delay-seconds or an HTTP-date, as a wait from now, capped at
// retryAfterMax. ok is false when the header is absent, is neither form, or
// is a date already past (a skewed clock says nothing about the block).
func parseRetryAfter(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(retryAfterMax/time.Second) {
			return retryAfterMax, true // too many digits for an int64 is long too
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0, false
	}
	return min(t.Sub(now), retryAfterMax), true
}

// loginBackoff is how long to wait after the n-th consecutive failed login
// (n >= 1) that failed for reason.
func loginBackoff(reason Reason, n int) time.Duration {
	start, max := credentialBackoffStart, credentialBackoffMax
	switch reason {
	case ReasonLocked:
		start, max = lockedBackoffStart, lockedBackoffMax
	case ReasonError:
		start, max = errorBackoffStart, errorBackoffMax
	}
	d := start
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

// rejectionBackoff holds data calls back after UTMStack refused the
// credential on one (a key it does not accept, a role it does not grant, a
// fresh token refused again): repeating the call each scrape would only add
// failed requests, application events and, for passwords, logins. A reload
// with new credentials builds a new client and so starts clean.
type rejectionBackoff struct {
	mu       sync.Mutex
	failures int
	until    time.Time
	last     *AuthError
}

// check fails fast while a rejection backoff runs.
func (b *rejectionBackoff) check(now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil || !now.Before(b.until) {
		return nil
	}
	return &AuthError{Reason: b.last.Reason, Attempted: false, RetryAt: b.until, next: b.last.next, Err: b.last.Err}
}

// record starts or extends the backoff and returns err with its end.
// Calls of one round refused together count as one step, not one each.
func (b *rejectionBackoff) record(now time.Time, err *AuthError) *AuthError {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last != nil && now.Before(b.until) {
		err.RetryAt = b.until
		return err
	}
	b.failures++
	b.until = now.Add(loginBackoff(ReasonBadCredentials, b.failures))
	b.last = err
	err.RetryAt = b.until
	return err
}

// reset ends the backoff after an accepted call.
func (b *rejectionBackoff) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.last = 0, nil
}
