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

// TestBadCredentialsAnsweredWith5xxIsAFailedLogin: UTMStack refuses a
// wrong password with a 5xx that says "Bad credentials" (its catch-all
// handler). The login counted toward the lock-out all the same, so it is
// a failed login with the credential backoff, not a transport error
// retried within seconds.
func TestBadCredentialsAnsweredWith5xxIsAFailedLogin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edition utmstacktest.Edition
		status  int
	}{
		{"v11.0.x, 500", utmstacktest.EditionCurrent, http.StatusInternalServerError},
		{"legacy, 500", utmstacktest.EditionLegacy, http.StatusInternalServerError},
		{"v11.0.x, 503", utmstacktest.EditionCurrent, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, utmstacktest.Options{Edition: tc.edition})
			f.fake.SetFault(f.fake.BadCredentialsAs(tc.status))
			c := f.client(t, utmstack.Credentials{Method: utmstack.AuthPassword, Username: testUser, Secret: "wrong-password"})
			_, err := c.ValuesWithCount(context.Background(), byStatus)
			var authErr *utmstack.AuthError
			if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonBadCredentials || !authErr.Attempted {
				t.Fatalf("err = %v, want an attempted bad_credentials login", err)
			}
			if wait := authErr.RetryAt.Sub(f.clock.Now()); wait != 2*time.Minute {
				t.Fatalf("next login in %v, want the credential backoff's 2 minutes", wait)
			}
			for range 40 { // ten minutes of scrapes every 15 s
				f.clock.Advance(15 * time.Second)
				_, _ = c.ValuesWithCount(context.Background(), byStatus)
			}
			if n := len(f.fake.LoginAttempts()); n != 3 {
				t.Fatalf("%d logins in 10 minutes, want 3 (2 and 4 minutes apart)", n)
			}
			if f.counts.failed(utmstack.ReasonBadCredentials) != 3 || f.counts.failed(utmstack.ReasonError) != 0 {
				t.Fatalf("counted %d bad_credentials and %d error, want 3 and 0",
					f.counts.failed(utmstack.ReasonBadCredentials), f.counts.failed(utmstack.ReasonError))
			}
		})
	}
}
