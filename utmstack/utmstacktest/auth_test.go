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

// TestAuthorizationRules checks SecurityConfiguration's rules by role. The
// fake serves none of /management/health or the TFA endpoints, so a request
// the rules let through meets the 404 of a missing route: 404 here means
// "authorized", 401 and 403 are the security filters' answers.
func TestAuthorizationRules(t *testing.T) {
	for _, edition := range []Edition{EditionCurrent, EditionLegacy} {
		f := newFixture(t, Options{Edition: edition, Alerts: sampleAlerts()})
		exp := t0.Add(time.Hour)
		tokens := map[string]string{
			"full":  f.login("admin", "s3cret!"),
			"user":  signJWT(f.srv.key, "analyst", "ROLE_USER", true, exp),
			"admin": signJWT(f.srv.key, "boss", "ROLE_ADMIN", true, exp),
			"pre":   signJWT(f.srv.key, "admin", authorityPreTFA, false, exp),
		}
		type want map[string]int // token name ("" for none) -> status
		type rule struct {
			method, path string
			want         want
		}
		cases := []rule{
			{"GET", "/management/info", want{"": 200, "pre": 200, "user": 200}},
			{"GET", "/management/health", want{"": 401, "full": 404, "user": 404, "admin": 404, "pre": 403}},
			{"GET", "/management/prometheus", want{"user": 404, "pre": 403}},
			{"GET", "/api/ping", want{"": 200, "pre": 200}},
			{"POST", dataPath, want{"": 401, "pre": 403, "user": 200}},
			{"GET", "/api/tfa/other", want{"": 401, "pre": 403, "user": 404}},
		}
		if edition == EditionCurrent {
			cases = append(cases,
				rule{"POST", "/api/tfa/verify-code", want{"": 401, "pre": 404, "full": 404}},
				rule{"POST", "/api/tfa/refresh", want{"pre": 404, "user": 404}},
				rule{"GET", "/api/tfa/verifyCode", want{"pre": 403, "full": 404}})
		} else {
			cases = append(cases,
				rule{"GET", "/api/tfa/verifyCode", want{"": 401, "pre": 404, "full": 403}},
				rule{"POST", "/api/tfa/verify-code", want{"pre": 403, "full": 404}})
		}
		for _, tc := range cases {
			for name, status := range tc.want {
				var headers []string
				if name != "" {
					headers = []string{"Authorization", "Bearer " + tokens[name]}
				}
				body := ""
				if tc.path == dataPath {
					body = `{"field":"status","index":"v11-alert-*"}`
				}
				if r := f.do(tc.method, tc.path, body, headers...); r.status != status {
					t.Errorf("%s: %s %s with token %q: status %d, want %d", edition, tc.method, tc.path, name, r.status, status)
				}
			}
		}
	}
}
