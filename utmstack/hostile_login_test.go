package utmstack_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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

// scrapeConcurrently makes n calls at once, as n scrapers would, and
// fails the test on any error.
func scrapeConcurrently(t *testing.T, c *utmstack.Client, n int) {
	t.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := c.ValuesWithCount(context.Background(), byStatus)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestExpiredOrShortTokensAreReused: a token that looks expired (the
// server's clock is behind) or lapses within the renewal margin (a short
// token-validity-in-seconds) is kept until UTMStack refuses it or 30
// seconds have passed: 50 scrapers every 5 seconds for two minutes make one
// login per token lifetime or per 30 seconds, whichever is longer, never
// one per call.
func TestExpiredOrShortTokensAreReused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      utmstacktest.Options
		maxLogins int
	}{
		{"server clock 25 hours behind", utmstacktest.Options{ClockSkew: -25 * time.Hour}, 5},
		{"token valid 40 seconds", utmstacktest.Options{TokenValidity: 40 * time.Second}, 5},
		{"token valid 10 seconds", utmstacktest.Options{TokenValidity: 10 * time.Second}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			c := f.client(t, password())
			for range 24 {
				scrapeConcurrently(t, c, 50)
				f.clock.Advance(5 * time.Second)
			}
			if n := f.logins(); n < 1 || n > tc.maxLogins {
				t.Fatalf("%d logins for 1200 calls over 2 minutes, want 1 to %d", n, tc.maxLogins)
			}
			if int(f.counts.logins.Load()) != f.logins() {
				t.Fatalf("hook saw %d logins, the fake %d", f.counts.logins.Load(), f.logins())
			}
			t.Logf("%d logins, %d data calls", f.logins(), f.dataCalls())
		})
	}
}

// TestSlowLoginFinishesForTheNextScrape: a login slower than the scrape
// that started it runs on to its own deadline (utmstack.timeout); the
// scrape fails without blaming the credentials or starting a backoff, and
// the next scrape uses the token, with the login counted once.
func TestSlowLoginFinishesForTheNextScrape(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/authenticate" {
			once.Do(func() { close(entered) })
			<-release // UTMStack is slow; the scrape's budget ends first
		}
		return false
	})
	c := f.clientWith(t, password(), func(o *utmstack.Options) { o.LoginTimeout = time.Hour })

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.ValuesWithCount(ctx, byStatus)
		errc <- err
	}()
	<-entered
	cancel() // the scrape's deadline
	err := <-errc
	var authErr *utmstack.AuthError
	if !errors.Is(err, context.Canceled) || errors.As(err, &authErr) {
		t.Fatalf("err = %v, want the scrape's own context error, no AuthError", err)
	}
	close(release)

	f.clock.Advance(15 * time.Second) // the next scrape
	got, err := c.ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
	if f.logins() != 1 || f.counts.logins.Load() != 1 {
		t.Fatalf("fake saw %d logins, hook %d; want the one slow login", f.logins(), f.counts.logins.Load())
	}
	for _, r := range utmstack.Reasons {
		if n := f.counts.failed(r); n != 0 {
			t.Errorf("counted %d %s failures", n, r)
		}
	}
}

// TestReloadsShareTheFailedLoginBudget: the failed-login budget belongs to
// the UTMStack and user, kept in a LoginLedger that outlives the clients
// a reload replaces. Twelve reloads alternating two wrong passwords make
// two failed logins, not twelve; a corrected password still recovers at
// once; a user written in another case is the same user.
func TestReloadsShareTheFailedLoginBudget(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	ledger := utmstack.NewLoginLedger()
	reload := func(user, password string) *utmstack.Client {
		return f.clientWith(t, utmstack.Credentials{Method: utmstack.AuthPassword, Username: user, Secret: utmstack.Secret(password)},
			func(o *utmstack.Options) { o.Ledger = ledger })
	}
	for i := range 12 {
		user, pw := testUser, "wrong-password-a"
		if i%2 == 1 {
			user, pw = "Prometheus", "wrong-password-b"
		}
		_, err := reload(user, pw).ValuesWithCount(context.Background(), byStatus)
		var authErr *utmstack.AuthError
		if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonBadCredentials {
			t.Fatalf("reload %d: err = %v, want bad_credentials", i+1, err)
		}
		f.clock.Advance(time.Second / 6)
	}
	if n := f.logins(); n != 2 {
		t.Fatalf("%d logins over 12 reloads alternating two wrong passwords, want 2", n)
	}
	got, err := reload(testUser, testPassword).ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)

	// A client of its own (no ledger given) starts afresh: the default
	// for callers that build a single client.
	for range 3 {
		_, _ = f.client(t, utmstack.Credentials{Method: utmstack.AuthPassword, Username: testUser, Secret: "wrong-password-a"}).
			ValuesWithCount(context.Background(), byStatus)
	}
	if n := f.logins(); n != 6 {
		t.Fatalf("%d logins, want 3 more from three clients with private ledgers", n)
	}
}

// TestLedgerKeepsUTMStacksApart: two UTMStacks in one ledger each have
// their own budget.
func TestLedgerKeepsUTMStacksApart(t *testing.T) {
	ledger := utmstack.NewLoginLedger()
	clock := utmstacktest.NewClock(epoch)
	var fakes []*utmstacktest.Server
	for range 2 {
		fake := utmstacktest.New(utmstacktest.Options{Clock: clock, Users: map[string]string{testUser: testPassword}, Alerts: sampleAlerts()})
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		u, _ := url.Parse(srv.URL)
		c, err := utmstack.New(utmstack.Options{URL: u, Now: clock.Now, Ledger: ledger,
			Credentials: utmstack.Credentials{Method: utmstack.AuthPassword, Username: testUser, Secret: "wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		for range 3 {
			_, _ = c.ValuesWithCount(context.Background(), byStatus)
		}
		fakes = append(fakes, fake)
	}
	for i, fake := range fakes {
		if n := fake.Requests(http.MethodPost, "/api/authenticate"); n != 1 {
			t.Errorf("UTMStack %d saw %d logins, want 1", i+1, n)
		}
	}
}

// TestUsernameIsSentLowerCased: UTMStack stores logins lower-cased and
// v11.0.x looks the user up by the name as sent after the password check,
// so "Prometheus" as configured must go out as "prometheus".
func TestUsernameIsSentLowerCased(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	c := f.client(t, utmstack.Credentials{Method: utmstack.AuthPassword, Username: "Prometheus", Secret: testPassword})
	got, err := c.ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
}

// TestEmailAsUsernameSaysUseTheLoginName: v11.0.x accepts the password of
// an e-mail address, then answers 401 "user '...' not found". The error and
// the log say to use the login name; the credential backoff holds.
func TestEmailAsUsernameSaysUseTheLoginName(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{Emails: map[string]string{testUser: "prometheus@example.com"}})
	var logs strings.Builder
	c := f.clientWith(t, utmstack.Credentials{Method: utmstack.AuthPassword, Username: "prometheus@example.com", Secret: testPassword},
		func(o *utmstack.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	_, err := c.ValuesWithCount(context.Background(), byStatus)
	var authErr *utmstack.AuthError
	if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonBadCredentials || !errors.Is(err, utmstack.ErrEmailLogin) {
		t.Fatalf("err = %v, want bad_credentials wrapping ErrEmailLogin", err)
	}
	for _, text := range []string{err.Error(), logs.String()} {
		if !strings.Contains(text, "login name, not the e-mail address") {
			t.Errorf("%q does not say to use the login name", text)
		}
	}
	if wait := authErr.RetryAt.Sub(f.clock.Now()); wait != 2*time.Minute {
		t.Fatalf("next login in %v, want 2 minutes", wait)
	}
}
