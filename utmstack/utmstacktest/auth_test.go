package utmstacktest

import (
	"testing"
	"time"
)

const dataPath = "/api/elasticsearch/property/values-with-count"

func TestUnauthenticated(t *testing.T) {
	f := newFixture(t, Options{Alerts: sampleAlerts()})
	wantSpringError(t, f.countBy("status", "", ""), 401, dataPath)
	wantSpringError(t, f.countBy("status", "", "", "Authorization", "Bearer not.a.jwt"), 401, dataPath)
	wantSpringError(t, f.do("GET", "/api/utm-alerts/count-open-alerts", ""), 401, "/api/utm-alerts/count-open-alerts")
	// Unknown paths under /api are protected before they are looked up.
	wantSpringError(t, f.do("GET", "/api/nothing-here", ""), 401, "/api/nothing-here")
}

func TestAPIKeys(t *testing.T) {
	keys := []APIKey{
		{Key: "valid-key", User: "Prometheus"},
		{Key: "expiring-key", ExpiresAt: t0.Add(time.Hour)},
		{Key: "expired-key", ExpiresAt: t0},
		{Key: "cidr-ok", AllowedIPs: []string{"10.0.0.0/8", "127.0.0.0/8"}},
		{Key: "exact-ok", AllowedIPs: []string{"127.0.0.1"}},
		{Key: "ip-denied", AllowedIPs: []string{"10.0.0.0/8", "192.0.2.1"}},
	}
	f := newFixture(t, Options{APIKeys: keys, Alerts: sampleAlerts(), InternalKey: "internal"})
	for _, tc := range []struct {
		key    string
		status int
	}{
		{"valid-key", 200},
		{"expiring-key", 200},
		{"expired-key", 500}, // expiresAt not after now
		{"cidr-ok", 200},
		{"exact-ok", 200},
		{"ip-denied", 500},
		{"unknown-key", 500},
	} {
		t.Run(tc.key, func(t *testing.T) {
			r := f.countBy("status", "", "", "Utm-Api-Key", tc.key)
			if tc.status == 500 {
				wantSpringError(t, r, 500, dataPath)
				// Even valid other credentials do not help, and public
				// paths are filtered too.
				wantSpringError(t, f.countBy("status", "", "", "Utm-Api-Key", tc.key, "Utm-Internal-Key", "internal"), 500, dataPath)
				wantSpringError(t, f.do("GET", "/api/ping", "", "Utm-Api-Key", tc.key), 500, "/api/ping")
				return
			}
			wantStatus(t, r, 200)
		})
	}
	if r := f.do("GET", "/api/authenticate", "", "Utm-Api-Key", "valid-key"); r.body != "prometheus" {
		t.Errorf("GET /api/authenticate with an API key: %d %q, want the key owner", r.status, r.body)
	}
	// Sent as a Bearer token as well (what the public docs describe): the
	// non-JWT bearer is ignored, the header authenticates.
	wantStatus(t, f.countBy("status", "", "", "Authorization", "Bearer valid-key", "Utm-Api-Key", "valid-key"), 200)
	wantSpringError(t, f.countBy("status", "", "", "Authorization", "Bearer valid-key"), 401, dataPath)
	// Keys expire on the clock.
	f.clock.Advance(time.Hour)
	wantSpringError(t, f.countBy("status", "", "", "Utm-Api-Key", "expiring-key"), 500, dataPath)
	f.srv.SetAPIKeys([]APIKey{{Key: "expiring-key"}})
	wantStatus(t, f.countBy("status", "", "", "Utm-Api-Key", "expiring-key"), 200)
}

func TestAPIKeyIgnoredOnLegacy(t *testing.T) {
	f := newFixture(t, Options{Edition: EditionLegacy, APIKeys: []APIKey{{Key: "valid-key"}}, Alerts: sampleAlerts()})
	wantSpringError(t, f.countBy("status", "", "", "Utm-Api-Key", "valid-key"), 401, dataPath)
	tok := f.login("admin", "s3cret!")
	wantStatus(t, f.countBy("status", "", "", "Utm-Api-Key", "garbage", "Authorization", "Bearer "+tok), 200)
}

func TestInternalKey(t *testing.T) {
	f := newFixture(t, Options{InternalKey: "the-internal-key", Alerts: sampleAlerts()})
	wantStatus(t, f.countBy("status", "", "", "Utm-Internal-Key", "the-internal-key"), 200)
	wantSpringError(t, f.countBy("status", "", "", "Utm-Internal-Key", "wrong"), 401, dataPath)
	if r := f.do("GET", "/api/authenticate", "", "Utm-Internal-Key", "the-internal-key"); r.body != "admin" {
		t.Errorf("internal key acts as %q, want admin", r.body)
	}
	// A wrong internal key next to a valid token is silently ignored.
	tok := f.login("admin", "s3cret!")
	wantStatus(t, f.countBy("status", "", "", "Utm-Internal-Key", "wrong", "Authorization", "Bearer "+tok), 200)

	unset := newFixture(t, Options{Alerts: sampleAlerts()})
	wantSpringError(t, unset.countBy("status", "", "", "Utm-Internal-Key", ""), 401, dataPath)
	wantSpringError(t, unset.countBy("status", "", "", "Utm-Internal-Key", "anything"), 401, dataPath)
}
