package utmstack

import "time"

// UTMStack blocks a source IP for 10 minutes once it has seen 10 failed
// logins from it (LoginAttemptService, MAX_ATTEMPT = 10). The schedule below
// keeps one exporter at 4 attempts in any 10 minutes with a wrong password,
// so even an HA pair behind one NAT stays under the threshold.
const (
	credentialBackoffStart = time.Minute
	credentialBackoffMax   = 15 * time.Minute
	lockedBackoffStart     = 11 * time.Minute // the block lasts 10 minutes
	lockedBackoffMax       = 30 * time.Minute
	errorBackoffStart      = 2 * time.Second // transport errors and 5xx don't count toward the block
	errorBackoffMax        = time.Minute
)

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
