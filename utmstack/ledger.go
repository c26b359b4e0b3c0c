package utmstack

import (
	"crypto/rand"
	"crypto/sha256"
	"net/url"
	"strings"
	"sync"
	"time"
)

// A LoginLedger remembers failed password logins per UTMStack (its
// scheme://host) and user (lower-cased, as UTMStack stores logins), so the
// failed-login budget belongs to the UTMStack and not to a client: a reload
// that brings a new password file builds a new client, and without a shared
// ledger every reload would buy a fresh login. One ledger serves every
// client of a process; it is safe for concurrent use.
//
// The budget: after a failure the credential backs off (backoff.go); a
// password not yet tried since the last success may still try at once (a
// corrected password recovers on the next scrape), but never more than
// loginBudget failed logins per UTMStack and user in any loginBudgetWindow.
// A password already tried waits the backoff out, and so does every
// password while UTMStack has the IP locked out: the block is the IP's,
// whatever the password, and a login sent during it only prolongs it.
type LoginLedger struct {
	mu      sync.Mutex
	salt    [32]byte
	entries map[ledgerKey]*ledgerEntry
}

// UTMStack blocks an IP after 10 failures in 10 minutes; three keeps an
// HA pair behind one NAT well under it.
const (
	loginBudget       = 3
	loginBudgetWindow = 10 * time.Minute
	// ledgerForget is how long an entry outlives its backoff: the longest
	// credential backoff, so a client retrying on schedule finds its
	// failure count and the window's failures still there.
	ledgerForget = credentialBackoffMax
)

type ledgerKey struct{ base, user string }

// ledgerEntry is one UTMStack and user while it backs off.
type ledgerEntry struct {
	failures int       // consecutive failed logins
	retryAt  time.Time // no login with an already refused password before this
	// lockedUntil: no login at all before this, the end of a lock-out's
	// wait (the locked backoff, or a longer Retry-After); lockErr is that
	// lock-out's answer.
	lockedUntil time.Time
	lockErr     *AuthError
	lastErr     *AuthError
	recent      []time.Time          // failed (or unanswered) logins, oldest first
	tried       map[fingerprint]bool // passwords that failed since the last success
}

// fingerprint is a salted hash of a password: the ledger tells passwords
// apart without holding them.
type fingerprint [sha256.Size]byte

// NewLoginLedger returns an empty ledger.
func NewLoginLedger() *LoginLedger {
	l := &LoginLedger{entries: map[ledgerKey]*ledgerEntry{}}
	_, _ = rand.Read(l.salt[:]) // never fails (crypto/rand)
	return l
}

func (l *LoginLedger) fingerprint(password string) fingerprint {
	h := sha256.New()
	h.Write(l.salt[:])
	h.Write([]byte(password))
	var fp fingerprint
	copy(fp[:], h.Sum(nil))
	return fp
}

func newLedgerKey(base *url.URL, user string) ledgerKey {
	return ledgerKey{base: base.Scheme + "://" + strings.ToLower(base.Host), user: strings.ToLower(user)}
}

// hold tells whether a login with this password must wait; it returns the
// error to answer meanwhile, nil when the login may go.
func (l *LoginLedger) hold(key ledgerKey, fp fingerprint, now time.Time) *AuthError {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	switch {
	case e == nil:
		return nil
	case now.Before(e.lockedUntil):
		return &AuthError{Reason: e.lockErr.Reason, Attempted: false, RetryAt: e.lockedUntil, next: nextLogin, Err: e.lockErr.Err}
	case !now.Before(e.retryAt), !e.tried[fp] && e.inWindow(now) < loginBudget:
		return nil
	}
	return &AuthError{Reason: e.lastErr.Reason, Attempted: false, RetryAt: e.retryAt, next: nextLogin, Err: e.lastErr.Err}
}

// failed records a failed (or unanswered) login, sets err's RetryAt and
// returns it. wait is the backoff after the n-th consecutive failure.
func (l *LoginLedger) failed(key ledgerKey, fp fingerprint, now time.Time, wait func(n int) time.Duration, err *AuthError) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	e := l.entries[key]
	if e == nil {
		e = &ledgerEntry{tried: map[fingerprint]bool{}}
		l.entries[key] = e
	}
	e.failures++
	e.recent = append(e.recent, now)
	e.retryAt = now.Add(wait(e.failures))
	if n := len(e.recent); n >= loginBudget {
		// The budget's oldest failure must leave the window first.
		e.retryAt = later(e.retryAt, e.recent[n-loginBudget].Add(loginBudgetWindow))
	}
	e.tried[fp] = true
	if err.Reason == ReasonLocked {
		e.lockedUntil, e.lockErr = e.retryAt, err
	}
	err.RetryAt = e.retryAt
	e.lastErr = err
	return e.retryAt
}

// succeeded forgets the UTMStack and user: UTMStack reset its count.
func (l *LoginLedger) succeeded(key ledgerKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// prune drops entries that no longer back off, so the ledger holds only
// the UTMStacks and users failing now.
func (l *LoginLedger) prune(now time.Time) {
	for k, e := range l.entries {
		if !now.Before(later(e.retryAt, e.lockedUntil).Add(ledgerForget)) {
			delete(l.entries, k)
		}
	}
}

// inWindow counts the failures within the budget window before now, and
// drops older ones.
func (e *ledgerEntry) inWindow(now time.Time) int {
	i := 0
	for i < len(e.recent) && !now.Before(e.recent[i].Add(loginBudgetWindow)) {
		i++
	}
	e.recent = e.recent[i:]
	return len(e.recent)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
