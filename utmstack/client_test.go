package utmstack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	testUser     = "prometheus"
	testPassword = "correct-horse-battery"
	testAPIKey   = "k3y-0123456789abcdefghijklmnopqrstuvwxyzABCD"
	testInternal = "internal-master-secret-value"
)

var epoch = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// counts is what the hooks saw.
type counts struct {
	logins   atomic.Int64
	requests atomic.Int64
	mu       sync.Mutex
	failures map[utmstack.Reason]int
}

func (c *counts) hooks() utmstack.Hooks {
	return utmstack.Hooks{
		Request: func(string, int) { c.requests.Add(1) },
		Login:   func() { c.logins.Add(1) },
		AuthFailure: func(r utmstack.Reason) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.failures == nil {
				c.failures = map[utmstack.Reason]int{}
			}
			c.failures[r]++
		},
	}
}

func (c *counts) failed(r utmstack.Reason) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failures[r]
}

type fixture struct {
	clock  *utmstacktest.Clock
	fake   *utmstacktest.Server
	server *httptest.Server
	counts *counts
}

func sampleAlerts() []utmstacktest.Alert {
	return []utmstacktest.Alert{
		{"@timestamp": epoch.Add(-time.Hour).Format(time.RFC3339), "id": "a1", "status": 2, "severity": 3},
		{"@timestamp": epoch.Add(-2 * time.Hour).Format(time.RFC3339), "id": "a2", "status": 2, "severity": 1},
		{"@timestamp": epoch.Add(-3 * time.Hour).Format(time.RFC3339), "id": "a3", "status": 5, "severity": 3},
	}
}

func newFixture(t *testing.T, opts utmstacktest.Options) *fixture {
	t.Helper()
	clock := utmstacktest.NewClock(epoch)
	opts.Clock = clock
	if opts.Users == nil {
		opts.Users = map[string]string{testUser: testPassword}
	}
	if opts.Alerts == nil {
		opts.Alerts = sampleAlerts()
	}
	fake := utmstacktest.New(opts)
	server := httptest.NewServer(fake)
	t.Cleanup(server.Close)
	return &fixture{clock: clock, fake: fake, server: server, counts: &counts{}}
}

func (f *fixture) client(t *testing.T, creds utmstack.Credentials) *utmstack.Client {
	t.Helper()
	return f.clientWith(t, creds, nil)
}

// clientWith is client with options changed by set (nil: none).
func (f *fixture) clientWith(t *testing.T, creds utmstack.Credentials, set func(*utmstack.Options)) *utmstack.Client {
	t.Helper()
	u, _ := url.Parse(f.server.URL)
	opts := utmstack.Options{URL: u, Credentials: creds, Hooks: f.counts.hooks(), Now: f.clock.Now}
	if set != nil {
		set(&opts)
	}
	c, err := utmstack.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func (f *fixture) logins() int { return f.fake.Requests(http.MethodPost, "/api/authenticate") }
func (f *fixture) dataCalls() int {
	return f.fake.Requests(http.MethodPost, "/api/elasticsearch/property/values-with-count")
}

var byStatus = utmstack.ValuesRequest{Index: "v11-alert-*", Field: "status", Top: 10}

func password() utmstack.Credentials {
	return utmstack.Credentials{Method: utmstack.AuthPassword, Username: testUser, Secret: testPassword}
}

func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testPassword, testAPIKey, testInternal, "eyJ"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error text leaks a credential (%q): %v", s, err)
		}
	}
}

func wantStatusCounts(t *testing.T, got map[string]int64, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("ValuesWithCount: %v", err)
	}
	if len(got) != 2 || got["2"] != 2 || got["5"] != 1 {
		t.Fatalf("counts = %v, want map[2:2 5:1]", got)
	}
}

func TestEachAuthenticationWay(t *testing.T) {
	tests := []struct {
		name      string
		opts      utmstacktest.Options
		creds     utmstack.Credentials
		wantLogin int
	}{
		{"password, v11.0.x login shape", utmstacktest.Options{Edition: utmstacktest.EditionCurrent}, password(), 1},
		{"password, legacy login shape", utmstacktest.Options{Edition: utmstacktest.EditionLegacy}, password(), 1},
		{"password, TFA forced unless bypassed", utmstacktest.Options{TFA: utmstacktest.TFAForcedUnlessBypass}, password(), 1},
		{"api key", utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey}}},
			utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey}, 0},
		{"internal key, current", utmstacktest.Options{InternalKey: testInternal},
			utmstack.Credentials{Method: utmstack.AuthInternalKey, Secret: testInternal}, 0},
		{"internal key, legacy", utmstacktest.Options{Edition: utmstacktest.EditionLegacy, InternalKey: testInternal},
			utmstack.Credentials{Method: utmstack.AuthInternalKey, Secret: testInternal}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			got, err := f.client(t, tc.creds).ValuesWithCount(context.Background(), byStatus)
			wantStatusCounts(t, got, err)
			if f.logins() != tc.wantLogin || int(f.counts.logins.Load()) != tc.wantLogin {
				t.Fatalf("logins: fake saw %d, hook saw %d, want %d", f.logins(), f.counts.logins.Load(), tc.wantLogin)
			}
		})
	}
}

func TestRejectedKeys(t *testing.T) {
	expired := epoch.Add(-time.Minute)
	tests := []struct {
		name  string
		opts  utmstacktest.Options
		creds utmstack.Credentials
	}{
		{"unknown api key", utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: "another"}}},
			utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey}},
		{"expired api key", utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey, ExpiresAt: expired}}},
			utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey}},
		{"api key from a denied IP", utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey, AllowedIPs: []string{"192.0.2.0/24"}}}},
			utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey}},
		{"api key on a legacy UTMStack", utmstacktest.Options{Edition: utmstacktest.EditionLegacy, APIKeys: []utmstacktest.APIKey{{Key: testAPIKey}}},
			utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey}},
		{"wrong internal key", utmstacktest.Options{InternalKey: "the-real-one"},
			utmstack.Credentials{Method: utmstack.AuthInternalKey, Secret: testInternal}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			c := f.client(t, tc.creds)
			_, err := c.ValuesWithCount(context.Background(), byStatus)
			var authErr *utmstack.AuthError
			if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonBadCredentials {
				t.Fatalf("err = %v, want a bad_credentials AuthError", err)
			}
			if f.counts.failed(utmstack.ReasonBadCredentials) != 1 || f.dataCalls() != 1 {
				t.Fatalf("failures %d, data calls %d: want 1 and 1 (no retry for a fixed key)",
					f.counts.failed(utmstack.ReasonBadCredentials), f.dataCalls())
			}
			assertNoSecret(t, err)
			// A key has no login: the backoff says what it holds back.
			_, err = c.ValuesWithCount(context.Background(), byStatus)
			key := map[utmstack.AuthMethod]string{utmstack.AuthAPIKey: "API key", utmstack.AuthInternalKey: "internal key"}[tc.creds.Method]
			next := "next request with the " + key + " not before " + epoch.Add(2*time.Minute).Format(time.RFC3339)
			if !errors.As(err, &authErr) || authErr.Attempted || !strings.Contains(err.Error(), next) || strings.Contains(err.Error(), "login") {
				t.Fatalf("during the backoff: err = %v, want it to say %q and no login", err, next)
			}
		})
	}
}

// TestKeyRejectionNeedsSpringsErrorBody: UTMStack refuses a key with a 500
// that Spring Boot renders as {timestamp,status,error,path}. A 500 page
// from a proxy in front of it is an error, not a rejected key.
func TestKeyRejectionNeedsSpringsErrorBody(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey}}})
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		// A page that echoes the request must not carry the key into the error.
		_, _ = io.WriteString(w, "<html><body><h1>500 Internal Server Error</h1>Utm-Api-Key: "+testAPIKey+"</body></html>")
		return true
	})
	c := f.client(t, utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey})
	_, err := c.ValuesWithCount(context.Background(), byStatus)
	var authErr *utmstack.AuthError
	var callErr *utmstack.Error
	if errors.As(err, &authErr) || !errors.As(err, &callErr) || callErr.Status != 500 ||
		!strings.Contains(err.Error(), "500 Internal Server Error") || !strings.Contains(err.Error(), "<secret>") {
		t.Fatalf("err = %v, want a plain 500 error quoting the page, the key blanked out", err)
	}
	assertNoSecret(t, err)
	if n := f.counts.failed(utmstack.ReasonBadCredentials); n != 0 {
		t.Fatalf("counted %d bad_credentials for a proxy's 500", n)
	}
	// Nothing holds the next call back: the key was never refused.
	f.fake.SetFault(nil)
	got, err := c.ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
}

func TestTokenReusedAndRenewedBeforeExpiry(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{TokenValidity: time.Hour})
	c := f.client(t, password())
	for range 5 {
		got, err := c.ValuesWithCount(context.Background(), byStatus)
		wantStatusCounts(t, got, err)
	}
	if f.logins() != 1 {
		t.Fatalf("5 calls made %d logins, want 1", f.logins())
	}
	// A 1h token is renewed 6 minutes (a tenth) before it expires.
	f.clock.Advance(53 * time.Minute)
	if _, err := c.ValuesWithCount(context.Background(), byStatus); err != nil {
		t.Fatal(err)
	}
	if f.logins() != 1 {
		t.Fatalf("at 53m: %d logins, want the token still in use", f.logins())
	}
	f.clock.Advance(2 * time.Minute)
	if _, err := c.ValuesWithCount(context.Background(), byStatus); err != nil {
		t.Fatal(err)
	}
	if f.logins() != 2 || f.dataCalls() != 7 {
		t.Fatalf("at 55m: %d logins and %d data calls, want 2 and 7 (renewed before use, no 401)", f.logins(), f.dataCalls())
	}
}

func TestSingleRetryAfterRestart(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	c := f.client(t, password())
	if _, err := c.ValuesWithCount(context.Background(), byStatus); err != nil {
		t.Fatal(err)
	}
	f.fake.Restart() // new signing key: the cached token now gets 401
	got, err := c.ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
	if f.logins() != 2 || f.dataCalls() != 3 {
		t.Fatalf("%d logins and %d data calls, want 2 and 3 (one 401, one login, one retry)", f.logins(), f.dataCalls())
	}
}

func TestPersistent401IsNotALoop(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/values-with-count") {
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		return false
	})
	_, err := f.client(t, password()).ValuesWithCount(context.Background(), byStatus)
	var authErr *utmstack.AuthError
	if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonBadCredentials {
		t.Fatalf("err = %v, want bad_credentials", err)
	}
	if f.logins() != 2 || f.dataCalls() != 2 {
		t.Fatalf("%d logins and %d data calls, want exactly 2 and 2", f.logins(), f.dataCalls())
	}
}

func TestForbiddenDoesNotLogInAgain(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/values-with-count") {
			w.WriteHeader(http.StatusForbidden)
			return true
		}
		return false
	})
	c := f.client(t, password())
	for i := range 3 {
		_, err := c.ValuesWithCount(context.Background(), byStatus)
		var authErr *utmstack.AuthError
		if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonForbidden || authErr.Attempted != (i == 0) {
			t.Fatalf("call %d: err = %v, want forbidden, attempted only the first time", i, err)
		}
	}
	// The refusal holds calls back for two minutes, then one is tried again.
	f.clock.Advance(time.Minute)
	if _, err := c.ValuesWithCount(context.Background(), byStatus); err == nil || f.dataCalls() != 1 {
		t.Fatalf("after one minute: err %v, %d data calls; want a fast failure", err, f.dataCalls())
	}
	f.clock.Advance(time.Minute)
	if _, err := c.ValuesWithCount(context.Background(), byStatus); err == nil {
		t.Fatal("want forbidden again")
	}
	if f.logins() != 1 || f.dataCalls() != 2 || f.counts.failed(utmstack.ReasonForbidden) != 2 {
		t.Fatalf("%d logins, %d data calls, %d forbidden; want 1, 2, 2", f.logins(), f.dataCalls(), f.counts.failed(utmstack.ReasonForbidden))
	}
	// An accepted call ends the backoff.
	f.fake.SetFault(nil)
	f.clock.Advance(4 * time.Minute)
	got, err := c.ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
}

// TestConcurrentRejectionsCountAsOneStep: the calls of one round refused
// together must not push the backoff several steps at once.
func TestConcurrentRejectionsCountAsOneStep(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: "another"}}})
	entered, release := make(chan struct{}, 4), make(chan struct{})
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		entered <- struct{}{}
		<-release
		return false
	})
	c := f.client(t, utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := c.ValuesWithCount(context.Background(), byStatus)
			errs <- err
		}()
	}
	for range 4 { // all four are in flight before any is refused
		<-entered
	}
	close(release)
	var retryAt time.Time
	for range 4 {
		var authErr *utmstack.AuthError
		if err := <-errs; !errors.As(err, &authErr) || !authErr.Attempted {
			t.Fatalf("err = %v, want a refused key", err)
		} else if authErr.RetryAt.After(retryAt) {
			retryAt = authErr.RetryAt
		}
	}
	if wait := retryAt.Sub(f.clock.Now()); wait != 2*time.Minute {
		t.Fatalf("after one round of four refused calls the backoff is %v, want the first step, 2m", wait)
	}
}

func TestTFARequired(t *testing.T) {
	for name, opts := range map[string]utmstacktest.Options{
		"legacy with TFA enabled": {Edition: utmstacktest.EditionLegacy, TFA: utmstacktest.TFAAlways},
		"current with TFA always": {TFA: utmstacktest.TFAAlways},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, opts)
			c := f.client(t, password())
			_, err := c.ValuesWithCount(context.Background(), byStatus)
			var authErr *utmstack.AuthError
			if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonTFARequired || !authErr.Attempted {
				t.Fatalf("err = %v, want an attempted tfa_required", err)
			}
			// The next scrape must not log in again while the backoff runs.
			_, err = c.ValuesWithCount(context.Background(), byStatus)
			if !errors.As(err, &authErr) || authErr.Attempted {
				t.Fatalf("second call: err = %v, want a fast failure without a login", err)
			}
			if f.logins() != 1 || f.dataCalls() != 0 || f.counts.failed(utmstack.ReasonTFARequired) != 1 {
				t.Fatalf("%d logins, %d data calls, %d tfa failures; want 1, 0, 1",
					f.logins(), f.dataCalls(), f.counts.failed(utmstack.ReasonTFARequired))
			}
		})
	}
}

func TestConcurrentCallersShareOneLogin(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/authenticate" {
			once.Do(func() { close(entered) })
			<-release
		}
		return false
	})
	c := f.client(t, password())
	errs := make(chan error, 20)
	for range 20 {
		go func() {
			_, err := c.ValuesWithCount(context.Background(), byStatus)
			errs <- err
		}()
	}
	<-entered
	close(release)
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if f.logins() != 1 || f.dataCalls() != 20 {
		t.Fatalf("%d logins and %d data calls, want 1 and 20", f.logins(), f.dataCalls())
	}
}

// TestWrongPasswordNeverLocksTheIPOut drives a thousand 15-second scrapes
// (over four hours of fake time) with a wrong password and checks every
// 10-minute window of login attempts against UTMStack's threshold of 10.
func TestWrongPasswordNeverLocksTheIPOut(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	c := f.client(t, utmstack.Credentials{Method: utmstack.AuthPassword, Username: testUser, Secret: "wrong-password"})
	for range 1000 {
		_, err := c.ValuesWithCount(context.Background(), byStatus)
		var authErr *utmstack.AuthError
		if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonBadCredentials {
			t.Fatalf("err = %v, want bad_credentials", err)
		}
		f.clock.Advance(15 * time.Second)
	}
	attempts := f.fake.LoginAttempts()
	worst := f.fake.MaxLoginAttemptsWithin(10 * time.Minute)
	if worst >= 10 {
		t.Fatalf("%d login attempts within 10 minutes: UTMStack would lock the IP out", worst)
	}
	if len(attempts) < 10 {
		t.Fatalf("only %d attempts in 4 hours: the backoff should still retry every 15 minutes", len(attempts))
	}
	if f.counts.failed(utmstack.ReasonBadCredentials) != len(attempts) || f.counts.failed(utmstack.ReasonLocked) != 0 {
		t.Fatalf("counted %d bad_credentials and %d locked for %d attempts", f.counts.failed(utmstack.ReasonBadCredentials),
			f.counts.failed(utmstack.ReasonLocked), len(attempts))
	}
	t.Logf("%d login attempts over %v, at most %d in any 10 minutes", len(attempts), 1000*15*time.Second, worst)
}

// TestLockedOutWaitsForTheBlockToLift: another client has already locked
// the IP out; the exporter waits the block out instead of adding attempts.
func TestLockedOutWaitsForTheBlockToLift(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	u, _ := url.Parse(f.server.URL)
	for range 10 {
		resp, err := http.Post(u.String()+"/api/authenticate", "application/json",
			strings.NewReader(`{"username":"intruder","password":"nope1","rememberMe":false}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	c := f.client(t, password())
	_, err := c.ValuesWithCount(context.Background(), byStatus)
	var authErr *utmstack.AuthError
	if !errors.As(err, &authErr) || authErr.Reason != utmstack.ReasonLocked {
		t.Fatalf("err = %v, want locked", err)
	}
	if wait := authErr.RetryAt.Sub(f.clock.Now()); wait < 10*time.Minute {
		t.Fatalf("next login in %v, want at least the 10-minute block", wait)
	}
	before := f.logins()
	for range 40 { // ten minutes of 15 s scrapes
		_, _ = c.ValuesWithCount(context.Background(), byStatus)
		f.clock.Advance(15 * time.Second)
	}
	if f.logins() != before {
		t.Fatalf("%d logins during the block, want none", f.logins()-before)
	}
	f.clock.Advance(time.Minute)
	got, err := c.ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
}

func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	var leaked atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		_, _ = w.Write([]byte(`{"2":1}`))
	}))
	defer other.Close()
	// Same loopback IP, different port: a different host as far as
	// credentials go.
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	u, _ := url.Parse(redirector.URL)
	for _, creds := range []utmstack.Credentials{
		{Method: utmstack.AuthAPIKey, Secret: testAPIKey},
		{Method: utmstack.AuthInternalKey, Secret: testInternal},
		password(),
	} {
		c, err := utmstack.New(utmstack.Options{URL: u, Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ValuesWithCount(context.Background(), byStatus)
		if err == nil || !strings.Contains(err.Error(), "refusing redirect") {
			t.Errorf("%s: err = %v, want the redirect refused", creds.Method, err)
		}
		assertNoSecret(t, err)
	}
	if leaked.Load() != 0 {
		t.Fatalf("the other host received %d requests", leaked.Load())
	}
}

// TestRedirectThatDropsTheLoginBodyIsRefused: Go follows a 301, 302 or 303
// on a POST as a GET without the body; GET /api/authenticate then answers
// 401, which must not pass for a wrong password. 307 and 308 keep the
// method and body and are followed on the same host.
func TestRedirectThatDropsTheLoginBodyIsRefused(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			f := newFixture(t, utmstacktest.Options{})
			f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPost && r.URL.Path == "/api/authenticate" {
					http.Redirect(w, r, "/api/authenticate?password="+testPassword, code)
					return true
				}
				return false
			})
			_, err := f.client(t, password()).ValuesWithCount(context.Background(), byStatus)
			want := fmt.Sprintf("refusing HTTP %d redirect of POST /api/authenticate to /api/authenticate:", code)
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "?") {
				t.Fatalf("err = %v, want it to contain %q and no query string", err, want)
			}
			assertNoSecret(t, err)
			if f.fake.Requests(http.MethodGet, "/api/authenticate") != 0 || f.counts.failed(utmstack.ReasonBadCredentials) != 0 {
				t.Fatalf("%d GETs followed, %d bad_credentials counted; want 0 and 0",
					f.fake.Requests(http.MethodGet, "/api/authenticate"), f.counts.failed(utmstack.ReasonBadCredentials))
			}
		})
	}
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			f := newFixture(t, utmstacktest.Options{})
			f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.RawQuery == "" {
					http.Redirect(w, r, r.URL.Path+"?hop=1", code)
					return true
				}
				return false
			})
			got, err := f.client(t, password()).ValuesWithCount(context.Background(), byStatus)
			wantStatusCounts(t, got, err)
		})
	}
}

func TestBodySizeLimit(t *testing.T) {
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, `{"a":1,"pad":"`)
		_, _ = w.Write([]byte(strings.Repeat("x", 2<<20)))
		_, _ = fmt.Fprint(w, `"}`)
	}))
	defer huge.Close()
	u, _ := url.Parse(huge.URL)
	c, err := utmstack.New(utmstack.Options{URL: u, MaxBodyBytes: 1 << 20,
		Credentials: utmstack.Credentials{Method: utmstack.AuthInternalKey, Secret: testInternal}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ValuesWithCount(context.Background(), byStatus)
	var callErr *utmstack.Error
	if !errors.As(err, &callErr) || !strings.Contains(err.Error(), "larger than the 1048576-byte limit") {
		t.Fatalf("err = %v, want the size limit named", err)
	}
}

func TestServerErrorsCarryEndpointStatusAndHeader(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{InternalKey: testInternal})
	c := f.client(t, utmstack.Credentials{Method: utmstack.AuthInternalKey, Secret: testInternal})
	// A text field without .keyword: UTMStack answers 500 + X-UtmStack-error.
	_, err := c.ValuesWithCount(context.Background(), utmstack.ValuesRequest{Index: "v11-alert-*", Field: "id", Top: 5})
	var callErr *utmstack.Error
	if !errors.As(err, &callErr) || callErr.Status != 500 || callErr.Endpoint != "values_with_count" ||
		!strings.Contains(callErr.UTMStackError, "getFieldValuesWithCount") {
		t.Fatalf("err = %v, want a 500 naming the endpoint and X-UtmStack-error", err)
	}
	var authErr *utmstack.AuthError
	if errors.As(err, &authErr) {
		t.Fatalf("a controller's 500 is not an authentication failure: %v", err)
	}
}

// unansweredLoginTimeout is the login deadline of the tests whose
// UTMStack never answers a login: real time, as the client's deadlines
// are; long enough for the request to be written first.
const unansweredLoginTimeout = 300 * time.Millisecond

// TestUnansweredLoginBacksOffWithoutAFailure: a login unanswered within
// its own deadline (utmstack.timeout) may have counted at UTMStack, so it
// backs off as a failed one would; but no failure reason is counted, as
// none is known.
func TestUnansweredLoginBacksOffWithoutAFailure(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/authenticate" {
			// The server notices a client gone only once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done() // never answers; the client gives up
			return true
		}
		return false
	})
	c := f.clientWith(t, password(), func(o *utmstack.Options) { o.LoginTimeout = unansweredLoginTimeout })
	_, err := c.ValuesWithCount(context.Background(), byStatus)
	var authErr *utmstack.AuthError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &authErr) || !authErr.Attempted {
		t.Fatalf("err = %v, want an attempted AuthError wrapping context.DeadlineExceeded", err)
	}
	next := "next login not before " + epoch.Add(2*time.Minute).Format(time.RFC3339)
	if !strings.Contains(err.Error(), "did not arrive in time") || !strings.Contains(err.Error(), next) {
		t.Fatalf("err = %v, want it to say the answer did not arrive in time and %q", err, next)
	}
	f.fake.SetFault(nil)
	f.clock.Advance(time.Minute)
	if _, err := c.ValuesWithCount(context.Background(), byStatus); !errors.As(err, &authErr) || authErr.Attempted {
		t.Fatalf("a minute later: err = %v, want a fast failure during the backoff", err)
	}
	if f.logins() != 1 {
		t.Fatalf("%d logins, want 1: the backoff must hold the next one back", f.logins())
	}
	f.clock.Advance(time.Minute)
	got, err := c.ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
	for _, r := range utmstack.Reasons {
		if n := f.counts.failed(r); n != 0 {
			t.Errorf("counted %d %s failures for a login whose outcome is unknown", n, r)
		}
	}
}

// TestAdjustedLoginTimeoutBoundsTheNextLogin: a reload that shortens
// utmstack.timeout keeps the client and adjusts it; the next login runs
// to the new deadline, not the one the client was built with.
func TestAdjustedLoginTimeoutBoundsTheNextLogin(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/authenticate" {
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done() // never answers; the client gives up
			return true
		}
		return false
	})
	c := f.clientWith(t, password(), func(o *utmstack.Options) { o.LoginTimeout = time.Hour })
	c.Adjust(1, unansweredLoginTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // bounds the test only
	defer cancel()
	_, err := c.ValuesWithCount(ctx, byStatus)
	var authErr *utmstack.AuthError
	if !errors.As(err, &authErr) || !authErr.Attempted || !strings.Contains(err.Error(), "did not arrive in time") {
		t.Fatalf("err = %v, want the login given up at the adjusted deadline", err)
	}
}

// TestLoginCanceledBeforeSendingIsNoAttempt: a login that never left the
// client cannot have counted at UTMStack and must not hold the next back.
func TestLoginCanceledBeforeSendingIsNoAttempt(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	c := f.client(t, password())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.ValuesWithCount(ctx, byStatus)
	var authErr *utmstack.AuthError
	if !errors.Is(err, context.Canceled) || errors.As(err, &authErr) {
		t.Fatalf("err = %v, want context.Canceled and no AuthError", err)
	}
	got, err := c.ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
	if f.logins() != 1 {
		t.Fatalf("%d logins arrived, want 1", f.logins())
	}
}

// TestUnansweredWrongPasswordNeverLocksTheIPOut: UTMStack judges a login at
// once but answers after the login's deadline. Each unanswered login may
// have counted, so scrapes a minute apart must still stay under the
// lock-out threshold.
func TestUnansweredWrongPasswordNeverLocksTheIPOut(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	f.fake.SetLatency(time.Hour) // the answer never comes in time; the fake judges the login all the same
	c := f.clientWith(t, utmstack.Credentials{Method: utmstack.AuthPassword, Username: testUser, Secret: "wrong-password"},
		func(o *utmstack.Options) { o.LoginTimeout = unansweredLoginTimeout })
	for i := range 12 { // twelve scrapes a minute apart
		if _, err := c.ValuesWithCount(context.Background(), byStatus); err == nil {
			t.Fatalf("scrape %d succeeded with a wrong password", i+1)
		}
		f.clock.Advance(time.Minute)
	}
	if worst := f.fake.MaxLoginAttemptsWithin(10 * time.Minute); worst > 3 {
		t.Fatalf("%d logins within 10 minutes, want at most 3 (2, 4, 8 minutes apart)", worst)
	}
	for _, r := range utmstack.Reasons {
		if n := f.counts.failed(r); n != 0 {
			t.Errorf("counted %d %s failures for logins whose outcome is unknown", n, r)
		}
	}
	f.fake.SetLatency(0)
	got, err := f.client(t, password()).ValuesWithCount(context.Background(), byStatus)
	wantStatusCounts(t, got, err)
}
