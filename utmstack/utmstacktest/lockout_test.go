package utmstacktest

import (
	"testing"
	"time"
)

func TestLockoutAfterTenFailures(t *testing.T) {
	f := newFixture(t, Options{})
	for i := 0; i < 10; i++ {
		wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "wrong-pass")), 401)
		f.clock.Advance(time.Second)
	}
	tenth := f.clock.Now().Add(-time.Second)
	// Now even the right password is refused, and refusals do not count.
	for i := 0; i < 5; i++ {
		r := f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!"))
		wantStatus(t, r, 423)
		if got, want := r.header.Get("X-UtmStack-error"), "Authentication blocked: IP 127.0.0.1 exceeded login attempt threshold"; got != want {
			t.Errorf("X-UtmStack-error %q, want %q", got, want)
		}
		if r.body != "" {
			t.Errorf("body %q, want empty", r.body)
		}
	}
	f.clock.Set(tenth.Add(10*time.Minute - time.Millisecond))
	wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!")), 423)
	// Guava expireAfterWrite: gone exactly 10 minutes after the 10th failure.
	f.clock.Set(tenth.Add(10 * time.Minute))
	f.login("admin", "s3cret!")
	if got := len(f.srv.LoginAttempts()); got != 17 {
		t.Errorf("LoginAttempts has %d entries, want 17 (blocked ones included)", got)
	}
}

func TestLockoutCountIsResetBySuccess(t *testing.T) {
	f := newFixture(t, Options{})
	fail := func(n int) {
		for i := 0; i < n; i++ {
			wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "wrong-pass")), 401)
		}
	}
	fail(9)
	f.login("admin", "s3cret!")
	fail(9)
	f.login("admin", "s3cret!") // 18 failures in all, never 10 in a row
	fail(10)
	wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!")), 423)
}

func TestLockoutExpiryRestartsOnEachFailure(t *testing.T) {
	f := newFixture(t, Options{})
	for i := 0; i < 9; i++ {
		wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "wrong-pass")), 401)
	}
	f.clock.Advance(9 * time.Minute)
	wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "wrong-pass")), 401) // 10th, a write
	f.clock.Advance(9 * time.Minute)                                                        // 18 min after the first failure
	wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!")), 423)
	f.clock.Advance(time.Minute)
	f.login("admin", "s3cret!")
}

func TestLockoutIsPerForwardedIP(t *testing.T) {
	f := newFixture(t, Options{})
	for i := 0; i < 10; i++ {
		wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "wrong-pass"), "X-Forwarded-For", "203.0.113.7, 10.0.0.2"), 401)
	}
	r := f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!"), "X-Forwarded-For", "203.0.113.7")
	wantStatus(t, r, 423)
	if got, want := r.header.Get("X-UtmStack-error"), "Authentication blocked: IP 203.0.113.7 exceeded login attempt threshold"; got != want {
		t.Errorf("X-UtmStack-error %q, want %q", got, want)
	}
	// Another forwarded client, and the proxy itself, are not blocked.
	f.login("admin", "s3cret!", "X-Forwarded-For", "198.51.100.1, 203.0.113.7")
	f.login("admin", "s3cret!")
}

func TestLockoutLegacyText(t *testing.T) {
	f := newFixture(t, Options{Edition: EditionLegacy})
	for i := 0; i < 10; i++ {
		f.do("POST", "/api/authenticate", loginBody("admin", "wrong-pass"))
	}
	r := f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!"))
	wantStatus(t, r, 423)
	if got, want := r.header.Get("X-UtmStack-error"), "UserJWTController.authorize: Client IP 127.0.0.1 blocked due to too many failed login attempts"; got != want {
		t.Errorf("X-UtmStack-error %q, want %q", got, want)
	}
}

func TestRestartClearsLockout(t *testing.T) {
	f := newFixture(t, Options{})
	for i := 0; i < 10; i++ {
		f.do("POST", "/api/authenticate", loginBody("admin", "wrong-pass"))
	}
	wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!")), 423)
	f.srv.Restart()
	f.login("admin", "s3cret!")
}

func TestMaxLoginAttemptsWithin(t *testing.T) {
	f := newFixture(t, Options{})
	// Attempts at 0, 1, 9, 10 and 25 minutes: at most 3 within 10 minutes
	// (1, 9 and 10), since the span is half-open.
	for _, step := range []time.Duration{0, time.Minute, 8 * time.Minute, time.Minute, 15 * time.Minute} {
		f.clock.Advance(step)
		wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "wrong-pass")), 401)
	}
	if got := f.srv.MaxLoginAttemptsWithin(10 * time.Minute); got != 3 {
		t.Fatalf("MaxLoginAttemptsWithin(10m) = %d, want 3", got)
	}
}
