package utmstack

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"
)

// TestLedgerHoldsOnlyWhatBacksOff: entries go on success and once their
// backoff (and the budget window) is over, so a ledger that has seen a
// thousand failing users holds only those failing now.
func TestLedgerHoldsOnlyWhatBacksOff(t *testing.T) {
	l := NewLoginLedger()
	base, _ := url.Parse("https://utmstack.example.com")
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	wait := func(n int) time.Duration { return loginBackoff(ReasonBadCredentials, n) }
	fail := func(user string) {
		l.failed(newLedgerKey(base, user), l.fingerprint("wrong"), now, wait,
			&AuthError{Reason: ReasonBadCredentials, Err: errors.New("bad credentials")})
	}
	for i := range 1000 {
		fail(fmt.Sprintf("user%d", i))
	}
	if n := len(l.entries); n != 1000 {
		t.Fatalf("%d entries, want 1000", n)
	}
	l.succeeded(newLedgerKey(base, "USER0")) // logins are compared lower-cased
	if n := len(l.entries); n != 999 {
		t.Fatalf("%d entries after a success, want 999", n)
	}
	now = now.Add(credentialBackoffStart + ledgerForget)
	fail("another")
	if n := len(l.entries); n != 1 {
		t.Fatalf("%d entries once the others' backoffs are over, want 1", n)
	}
}
