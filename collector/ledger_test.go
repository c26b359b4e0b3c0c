package collector

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReloadsCannotBuyFailedLogins: a reload that changes the password
// builds a new client, but the failed-login budget belongs to the UTMStack
// and user: twelve reloads in two seconds alternating two wrong passwords
// make two failed logins, not twelve. A corrected password then recovers
// on the next scrape.
func TestReloadsCannotBuyFailedLogins(t *testing.T) {
	h := newHarness(t, knownAlerts(), faultQueries)
	get := func() string {
		resp, err := http.Get(h.server.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	for i := range 12 {
		pw := "wrong-password-a"
		if i%2 == 1 {
			pw = "wrong-password-b"
		}
		if err := h.exporter.Apply(h.config(t, faultQueries, pw)); err != nil {
			t.Fatal(err)
		}
		if body := get(); !strings.Contains(body, "\nutmstack_up 0\n") {
			t.Fatalf("reload %d: a wrong password scraped up", i+1)
		}
		h.clock.Advance(time.Second / 6)
	}
	if n := h.fake.Requests(http.MethodPost, loginPath); n != 2 {
		t.Fatalf("%d logins over 12 reloads alternating two wrong passwords, want 2", n)
	}
	if err := h.exporter.Apply(h.config(t, faultQueries, testPassword)); err != nil {
		t.Fatal(err)
	}
	if body := get(); !strings.Contains(body, "\nutmstack_up 1\n") {
		t.Fatal("the corrected password did not recover on the next scrape")
	}
}
