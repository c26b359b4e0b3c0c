package utmstacktest

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// LoginAttemptService: MAX_ATTEMPT and the Guava expireAfterWrite duration.
const (
	maxLoginAttempts = 10
	lockoutExpiry    = 10 * time.Minute
)

// lockout is LoginAttemptService's cache: failed-login counts per client IP.
// The caller holds the server lock.
type lockout struct {
	entries map[string]lockoutEntry
}

type lockoutEntry struct {
	count   int
	written time.Time
}

func newLockout() *lockout { return &lockout{entries: map[string]lockoutEntry{}} }

// get returns the live count; Guava drops an entry once now-written >= expiry.
func (l *lockout) get(ip string, now time.Time) int {
	e, ok := l.entries[ip]
	if !ok || now.Sub(e.written) >= lockoutExpiry {
		delete(l.entries, ip)
		return 0
	}
	return e.count
}

func (l *lockout) blocked(ip string, now time.Time) bool {
	return l.get(ip, now) >= maxLoginAttempts
}

// failed is AuthenticationFailureListener: count+1, which is a write and so
// restarts the expiry.
func (l *lockout) failed(ip string, now time.Time) {
	l.entries[ip] = lockoutEntry{count: l.get(ip, now) + 1, written: now}
}

// succeeded is AuthenticationSuccessListener: the count goes back to 0.
func (l *lockout) succeeded(ip string, now time.Time) {
	l.entries[ip] = lockoutEntry{count: 0, written: now}
}

// clientIP is LoginAttemptService.getClientIP: the first element of
// X-Forwarded-For when the header is present, else the remote address.
func clientIP(r *http.Request) string {
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		first, _, _ := strings.Cut(xff[0], ",")
		return strings.TrimSpace(first)
	}
	return remoteIP(r)
}

// remoteIP is getRemoteAddr(): the connection's address without the port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
