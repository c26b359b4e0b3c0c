package utmstack_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// TestLoginAnswered429IsALockOut: a 429 on the login (v12's lock-out, or a
// rate-limiting proxy), a 423, or a 401 whose X-UtmStack-error says
// blocked is counted as locked and waited out for at least the locked
// backoff (11 minutes, UTMStack's block is 10). Retry-After may lengthen
// the wait (up to an hour), never shorten it: 0, 1 or a date in the past
// change nothing. No login is sent during the wait.
func TestLoginAnswered429IsALockOut(t *testing.T) {
	const locked = 11 * time.Minute
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter func(now time.Time) string // nil: no header
		wait       time.Duration
	}{
		{"no Retry-After", http.StatusTooManyRequests, nil, locked},
		{"Retry-After 0", http.StatusTooManyRequests, func(time.Time) string { return "0" }, locked},
		{"Retry-After 1", http.StatusTooManyRequests, func(time.Time) string { return "1" }, locked},
		{"Retry-After shorter than the block", http.StatusTooManyRequests, func(time.Time) string { return "120" }, locked},
		{"Retry-After longer than the block", http.StatusTooManyRequests, func(time.Time) string { return "1200" }, 20 * time.Minute},
		{"Retry-After as an HTTP-date", http.StatusTooManyRequests, func(now time.Time) string { return now.Add(25 * time.Minute).Format(http.TimeFormat) }, 25 * time.Minute},
		{"Retry-After of a day is capped at an hour", http.StatusTooManyRequests, func(time.Time) string { return "86400" }, time.Hour},
		{"Retry-After in the past", http.StatusTooManyRequests, func(now time.Time) string { return now.Add(-time.Hour).Format(http.TimeFormat) }, locked},
		{"unreadable Retry-After", http.StatusTooManyRequests, func(time.Time) string { return "soon" }, locked},
		{"423 with Retry-After 0", http.StatusLocked, func(time.Time) string { return "0" }, locked},
		{"423 with a past date", http.StatusLocked, func(now time.Time) string { return now.Add(-time.Minute).Format(http.TimeFormat) }, locked},
		{"401 saying blocked, Retry-After 0", http.StatusUnauthorized, func(time.Time) string { return "0" }, locked},
		{"401 saying blocked, Retry-After 1", http.StatusUnauthorized, func(time.Time) string { return "1" }, locked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, utmstacktest.Options{})
			header := ""
			if tc.retryAfter != nil {
				header = tc.retryAfter(f.clock.Now())
			}
			if tc.status == http.StatusTooManyRequests {
				f.fake.SetFault(utmstacktest.LoginRateLimit(header))
			} else {
				f.fake.SetFault(utmstacktest.LoginBlocked(tc.status, header))
			}
			c := f.client(t, password())

			_, err := c.ValuesWithCount(context.Background(), byStatus)
			var authErr *utmstack.AuthError
			if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonLocked || !authErr.Attempted {
				t.Fatalf("err = %v, want an attempted login failing as locked", err)
			}
			var apiErr *utmstack.Error
			if !errors.As(err, &apiErr) || apiErr.Status != tc.status {
				t.Fatalf("err = %v, want the %d in it", err, tc.status)
			}
			if f.counts.failed(utmstack.ReasonLocked) != 1 || f.counts.failed(utmstack.ReasonError) != 0 {
				t.Fatalf("counted %d locked and %d error, want 1 locked", f.counts.failed(utmstack.ReasonLocked), f.counts.failed(utmstack.ReasonError))
			}
			if wait := authErr.RetryAt.Sub(f.clock.Now()); wait != tc.wait {
				t.Fatalf("next login in %v, want %v", wait, tc.wait)
			}

			// Scrapes every 15 s until the wait is over send no login.
			before := f.logins()
			for f.clock.Now().Add(15 * time.Second).Before(authErr.RetryAt) {
				f.clock.Advance(15 * time.Second)
				_, err := c.ValuesWithCount(context.Background(), byStatus)
				var again *utmstack.AuthError
				if !errors.As(err, &again) || again.Attempted || again.Reason != utmstack.ReasonLocked {
					t.Fatalf("during the wait: err = %v, want a locked error without an attempt", err)
				}
			}
			if f.logins() != before {
				t.Fatalf("%d logins during the wait, want none", f.logins()-before)
			}
			if f.counts.failed(utmstack.ReasonLocked) != 1 {
				t.Fatalf("the wait counted %d failures, want the one", f.counts.failed(utmstack.ReasonLocked))
			}

			// Once the limit is gone and the wait over, the login goes through.
			f.fake.SetFault(nil)
			f.clock.Set(authErr.RetryAt)
			got, err := c.ValuesWithCount(context.Background(), byStatus)
			wantStatusCounts(t, got, err)
			if f.logins() != before+1 {
				t.Fatalf("%d logins after the wait, want 1", f.logins()-before)
			}
		})
	}
}

// TestLockOutHoldsANewPasswordToo: the lock-out is the IP's, not the
// password's. A reload that brings another password while UTMStack has the
// IP locked out sends no login until the wait is over, Retry-After
// included; a login sent meanwhile would be refused and prolong the block.
func TestLockOutHoldsANewPasswordToo(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	f.fake.SetFault(utmstacktest.LoginBlocked(http.StatusLocked, "1200")) // 20 minutes
	ledger := utmstack.NewLoginLedger()
	reload := func(password string) *utmstack.Client {
		return f.clientWith(t, utmstack.Credentials{Method: utmstack.AuthPassword, Username: testUser, Secret: utmstack.Secret(password)},
			func(o *utmstack.Options) { o.Ledger = ledger })
	}
	_, err := reload("wrong-password").ValuesWithCount(context.Background(), byStatus)
	var authErr *utmstack.AuthError
	if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonLocked || !authErr.Attempted {
		t.Fatalf("err = %v, want an attempted login failing as locked", err)
	}
	end := authErr.RetryAt
	if wait := end.Sub(f.clock.Now()); wait != 20*time.Minute {
		t.Fatalf("next login in %v, want the 20 minutes of Retry-After", wait)
	}

	before := f.logins()
	for f.clock.Now().Add(time.Minute).Before(end) {
		f.clock.Advance(time.Minute)
		_, err := reload(testPassword).ValuesWithCount(context.Background(), byStatus) // a reload each minute
		var held *utmstack.AuthError
		if !errors.As(err, &held) || held.Attempted || held.Reason != utmstack.ReasonLocked || !held.RetryAt.Equal(end) {
			t.Fatalf("a new password during the lock-out: err = %v, want a locked error without an attempt, retry at %v", err, end)
		}
	}
	if n := f.logins() - before; n != 0 {
		t.Fatalf("%d logins with a new password during the lock-out, want none", n)
	}

	f.fake.SetFault(nil)
	f.clock.Set(end)
	got, err := reload(testPassword).ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
}
