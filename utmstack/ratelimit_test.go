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
// rate-limiting proxy) is counted as locked and waited out, for as long as
// Retry-After says (at most an hour) or, without one, at least UTMStack's
// 10-minute block. No login is sent during the wait.
func TestLoginAnswered429IsALockOut(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter func(now time.Time) string // nil: no header
		honoured   bool                       // the wait is exactly wait; else at least 10 minutes
		wait       time.Duration
	}{
		{"no Retry-After", nil, false, 0},
		{"Retry-After in seconds", func(time.Time) string { return "120" }, true, 2 * time.Minute},
		{"Retry-After as an HTTP-date", func(now time.Time) string { return now.Add(5 * time.Minute).Format(http.TimeFormat) }, true, 5 * time.Minute},
		{"Retry-After of a day is capped at an hour", func(time.Time) string { return "86400" }, true, time.Hour},
		{"Retry-After in the past", func(now time.Time) string { return now.Add(-time.Hour).Format(http.TimeFormat) }, true, 0},
		{"unreadable Retry-After", func(time.Time) string { return "soon" }, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, utmstacktest.Options{})
			header := ""
			if tc.retryAfter != nil {
				header = tc.retryAfter(f.clock.Now())
			}
			f.fake.SetFault(utmstacktest.LoginRateLimit(header))
			c := f.client(t, password())

			_, err := c.ValuesWithCount(context.Background(), byStatus)
			var authErr *utmstack.AuthError
			if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonLocked || !authErr.Attempted {
				t.Fatalf("err = %v, want an attempted login failing as locked", err)
			}
			var apiErr *utmstack.Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests {
				t.Fatalf("err = %v, want the 429 in it", err)
			}
			if f.counts.failed(utmstack.ReasonLocked) != 1 || f.counts.failed(utmstack.ReasonError) != 0 {
				t.Fatalf("counted %d locked and %d error, want 1 locked", f.counts.failed(utmstack.ReasonLocked), f.counts.failed(utmstack.ReasonError))
			}
			wait := authErr.RetryAt.Sub(f.clock.Now())
			switch {
			case tc.honoured && wait != tc.wait:
				t.Fatalf("next login in %v, want %v as Retry-After said", wait, tc.wait)
			case !tc.honoured && wait < 10*time.Minute:
				t.Fatalf("next login in %v, want at least 10 minutes", wait)
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
