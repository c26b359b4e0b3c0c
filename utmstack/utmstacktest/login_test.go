package utmstacktest

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoginCurrentShape(t *testing.T) {
	f := newFixture(t, Options{})
	r := f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!"))
	wantStatus(t, r, 200)
	m := r.json(t)
	for _, k := range []string{"success", "tfaConfigured", "forceTfa", "method", "token", "tfaExpiresInSeconds"} {
		if _, ok := m[k]; !ok {
			t.Errorf("response %s lacks %q", r.body, k)
		}
	}
	if len(m) != 6 {
		t.Errorf("response has %d fields, want 6: %s", len(m), r.body)
	}
	if m["success"] != true || m["forceTfa"] != false || m["tfaConfigured"] != false || m["method"] != nil || m["tfaExpiresInSeconds"] != float64(0) {
		t.Errorf("unexpected response %s", r.body)
	}
	if _, ok := m["id_token"]; ok {
		t.Error("current edition must not answer id_token")
	}
	if h := r.header.Get("Authorization"); h != "" {
		t.Errorf("current edition sets no Authorization header, got %q", h)
	}
}

func TestLoginLegacyShape(t *testing.T) {
	f := newFixture(t, Options{Edition: EditionLegacy})
	r := f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!"))
	wantStatus(t, r, 200)
	m := r.json(t)
	if len(m) != 2 || m["authenticated"] != true {
		t.Fatalf("legacy response %s, want {id_token, authenticated:true}", r.body)
	}
	tok, _ := m["id_token"].(string)
	if tok == "" || r.header.Get("Authorization") != "Bearer "+tok {
		t.Errorf("Authorization header %q, want Bearer + id_token", r.header.Get("Authorization"))
	}
}

func TestLoginBadCredentials(t *testing.T) {
	for _, tc := range []struct {
		edition Edition
		want    string
	}{
		{EditionCurrent, "Bad credentials"},
		{EditionLegacy, "UserJWTController.authorize: Bad credentials"},
	} {
		t.Run(tc.edition.String(), func(t *testing.T) {
			f := newFixture(t, Options{Edition: tc.edition})
			for _, body := range []string{loginBody("admin", "wrong-password"), loginBody("nobody", "s3cret!")} {
				r := f.do("POST", "/api/authenticate", body)
				wantStatus(t, r, 401)
				if r.body != "" {
					t.Errorf("body %q, want empty", r.body)
				}
				if got := r.header.Get("X-UtmStack-error"); got != tc.want {
					t.Errorf("X-UtmStack-error %q, want %q", got, tc.want)
				}
				if _, ok := r.header["X-Utmstack-Params"]; !ok {
					t.Error("X-UtmStack-params header missing")
				}
			}
		})
	}
}

// TestLoginNameAsStored: the password check matches the login
// lower-cased (legacy accepts "PROMETHEUS"), but v11.0.x then looks the
// user up by the name as sent and answers 401 "not found", after the
// success has reset the IP's failure count; an e-mail address passes the
// password check the same way and fails the same lookup.
func TestLoginNameAsStored(t *testing.T) {
	users := map[string]string{"Prometheus": "pa55word"}
	emails := map[string]string{"prometheus": "Prom@Example.com"} // stored lower-cased

	legacy := newFixture(t, Options{Edition: EditionLegacy, Users: users, Emails: emails})
	for _, name := range []string{"PROMETHEUS", "prom@example.com"} {
		claims := decodeSegment(t, strings.Split(legacy.login(name, "pa55word"), ".")[1])
		if claims["sub"] != "prometheus" {
			t.Errorf("legacy, %s: sub %v, want the lower-cased login", name, claims["sub"])
		}
	}
	// The lookup by e-mail compares the address as sent with the stored,
	// lower-cased one: another case finds no user, a bad password.
	r := legacy.do("POST", "/api/authenticate", loginBody("Prom@Example.com", "pa55word"))
	wantStatus(t, r, 401)
	if got := r.header.Get("X-UtmStack-error"); !strings.Contains(got, "Bad credentials") {
		t.Errorf("an e-mail address in another case: X-UtmStack-error %q, want Bad credentials", got)
	}

	current := newFixture(t, Options{Users: users, Emails: emails})
	current.login("prometheus", "pa55word")
	for range 9 { // nine failures: one short of the block
		wantStatus(t, current.do("POST", "/api/authenticate", loginBody("prometheus", "PA55WORD")), 401) // passwords are case-sensitive
	}
	for _, name := range []string{"Prometheus", "prom@example.com"} {
		r := current.do("POST", "/api/authenticate", loginBody(name, "pa55word"))
		wantStatus(t, r, 401)
		if got, want := r.header.Get("X-UtmStack-error"), "Authentication failed: user '"+name+"' not found"; got != want {
			t.Errorf("X-UtmStack-error %q, want %q", got, want)
		}
		if r.body != "" {
			t.Errorf("body %q, want none", r.body)
		}
	}
	// The password check passed each time: the count was reset, so nine
	// more failures do not block.
	for range 9 {
		wantStatus(t, current.do("POST", "/api/authenticate", loginBody("prometheus", "wrong")), 401)
	}
	current.login("prometheus", "pa55word")
}

func TestLoginRequestValidation(t *testing.T) {
	for _, tc := range []struct {
		name        string
		body        string
		contentType string
		// current: status and X-UtmStack-error. A failed @Valid is
		// GlobalExceptionHandler's 400; what Jackson or Spring MVC refuse
		// falls to its catch-all 500.
		current    int
		currentMsg string
		legacy     int
		// legacyField: the field error the problem lists, "" for none.
		legacyField, legacyMsg string
	}{
		{"short password", loginBody("admin", "abc"), "application/json", 400, "size must be between 4 and 100", 400, "password", "size must be between 4 and 100"},
		{"long username", loginBody(strings.Repeat("u", 51), "s3cret!"), "application/json", 400, "size must be between 1 and 50", 400, "username", "size must be between 1 and 50"},
		{"missing username", `{"password":"s3cret!"}`, "application/json", 400, "must not be null", 400, "username", "must not be null"},
		{"malformed JSON", `{"username":`, "application/json", 500, "JSON parse error", 400, "", ""},
		{"not an object", `["admin"]`, "application/json", 500, "JSON parse error", 400, "", ""},
		{"wrong media type", loginBody("admin", "s3cret!"), "text/plain", 500, "Content type 'text/plain' not supported", 415, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := newFixture(t, Options{})
			r := cur.do("POST", "/api/authenticate", tc.body, "Content-Type", tc.contentType)
			wantStatus(t, r, tc.current)
			if got := r.header.Get("X-UtmStack-error"); !strings.Contains(got, tc.currentMsg) || r.body != "" {
				t.Errorf("current: want an empty body and X-UtmStack-error %q, got %q / %q", tc.currentMsg, r.body, got)
			}
			leg := newFixture(t, Options{Edition: EditionLegacy})
			r = leg.do("POST", "/api/authenticate", tc.body, "Content-Type", tc.contentType)
			wantStatus(t, r, tc.legacy)
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("legacy Content-Type %q, want application/problem+json", ct)
			}
			if r.header.Get("X-UtmStack-error") != "" {
				t.Errorf("legacy: unexpected X-UtmStack-error %q", r.header.Get("X-UtmStack-error"))
			}
			m := r.json(t)
			if m["status"] != float64(tc.legacy) || m["path"] != "/api/authenticate" {
				t.Errorf("legacy problem %s", r.body)
			}
			if tc.legacyField != "" {
				errs, _ := m["fieldErrors"].([]any)
				want := map[string]any{"objectName": "loginVM", "field": tc.legacyField, "message": tc.legacyMsg}
				if len(errs) != 1 || !reflect.DeepEqual(errs[0], want) || m["message"] != "error.validation" {
					t.Errorf("legacy field errors %v, want [%v]", m["fieldErrors"], want)
				}
			}
			// Rejected before authentication: not a failed login.
			for _, f := range []*fixture{cur, leg} {
				if n := f.srv.lock.get("127.0.0.1", f.clock.Now()); n != 0 {
					t.Errorf("a rejected body counted as %d failed logins", n)
				}
			}
		})
	}
}

func TestJWTClaimsAndSignature(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.login("admin", "s3cret!")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	if hdr, _ := base64.RawURLEncoding.DecodeString(parts[0]); string(hdr) != `{"alg":"HS512"}` {
		t.Errorf("header %s, want {\"alg\":\"HS512\"}", hdr)
	}
	if strings.ContainsAny(tok, "=+/") {
		t.Errorf("token %q is not base64url without padding", tok)
	}
	c := decodeSegment(t, parts[1])
	if c["sub"] != "admin" || c["auth"] != "ROLE_ADMIN,ROLE_USER" || c["authenticated"] != true {
		t.Errorf("claims %v", c)
	}
	if c["exp"] != float64(t0.Add(24*time.Hour).Unix()) {
		t.Errorf("exp %v, want %d (clock + 24h)", c["exp"], t0.Add(24*time.Hour).Unix())
	}
	if len(c) != 4 {
		t.Errorf("claims %v, want exactly sub, auth, authenticated, exp", c)
	}
	f.srv.mu.Lock()
	key := f.srv.key
	f.srv.mu.Unlock()
	if len(key) != 64 {
		t.Errorf("signing key has %d bytes, want 64", len(key))
	}
	mac := hmac.New(sha512.New, key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if got := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); got != parts[2] {
		t.Error("signature is not HMAC-SHA512 of the signing input")
	}
}

func TestTFAModes(t *testing.T) {
	bypass := []string{"X-Bypass-TFA", "true"}
	for _, tc := range []struct {
		name    string
		edition Edition
		mode    TFAMode
		headers []string
		full    bool
	}{
		{"off", EditionCurrent, TFAOff, nil, true},
		{"forced without header", EditionCurrent, TFAForcedUnlessBypass, nil, false},
		{"forced with header", EditionCurrent, TFAForcedUnlessBypass, bypass, true},
		{"always ignores header", EditionCurrent, TFAAlways, bypass, false},
		{"legacy always", EditionLegacy, TFAAlways, bypass, false},
		{"legacy off", EditionLegacy, TFAOff, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{Edition: tc.edition, TFA: tc.mode, Alerts: sampleAlerts()})
			r := f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!"), tc.headers...)
			wantStatus(t, r, 200)
			m := r.json(t)
			var tok string
			if tc.edition == EditionCurrent {
				tok = m["token"].(string)
				if m["forceTfa"] != !tc.full || m["success"] != true {
					t.Errorf("response %s, want forceTfa %v", r.body, !tc.full)
				}
				wantExp := float64(0)
				if !tc.full {
					wantExp = 300
				}
				if m["tfaExpiresInSeconds"] != wantExp {
					t.Errorf("tfaExpiresInSeconds %v, want %v", m["tfaExpiresInSeconds"], wantExp)
				}
			} else {
				tok = m["id_token"].(string)
				if m["authenticated"] != tc.full {
					t.Errorf("authenticated %v, want %v", m["authenticated"], tc.full)
				}
			}
			c := decodeSegment(t, strings.Split(tok, ".")[1])
			if tc.full {
				if c["auth"] != "ROLE_ADMIN,ROLE_USER" || c["authenticated"] != true {
					t.Errorf("claims %v, want a full token", c)
				}
				return
			}
			if c["auth"] != "ROLE_PRE_VERIFICATION_USER" || c["authenticated"] != false || c["exp"] != float64(t0.Add(300*time.Second).Unix()) {
				t.Errorf("claims %v, want a 300 s pre-verification token", c)
			}
			// A pre-verification token is authenticated but lacks the role.
			wantSpringError(t, f.countBy("status", "", "", "Authorization", "Bearer "+tok), 403, "/api/elasticsearch/property/values-with-count")
			if r := f.do("GET", "/api/authenticate", "", "Authorization", "Bearer "+tok); r.status != 200 || r.body != "admin" {
				t.Errorf("GET /api/authenticate with a pre-token: %d %q, want 200 admin", r.status, r.body)
			}
		})
	}
}

func TestRestartInvalidatesTokens(t *testing.T) {
	f := newFixture(t, Options{Alerts: sampleAlerts()})
	tok := f.login("admin", "s3cret!")
	wantStatus(t, f.countBy("status", "", "", "Authorization", "Bearer "+tok), 200)
	f.srv.Restart()
	wantSpringError(t, f.countBy("status", "", "", "Authorization", "Bearer "+tok), 401, "/api/elasticsearch/property/values-with-count")
	tok = f.login("admin", "s3cret!")
	wantStatus(t, f.countBy("status", "", "", "Authorization", "Bearer "+tok), 200)
}

func TestTokenExpiresOnTheClock(t *testing.T) {
	f := newFixture(t, Options{TokenValidity: time.Hour})
	tok := f.login("admin", "s3cret!")
	auth := []string{"Authorization", "Bearer " + tok}
	f.clock.Advance(time.Hour)
	wantStatus(t, f.do("GET", "/api/authenticate", "", auth...), 200) // exp itself is still valid
	f.clock.Advance(time.Second)
	r := f.do("GET", "/api/authenticate", "", auth...)
	wantStatus(t, r, 401)
	if r.body != "" {
		t.Errorf("body %q, want empty", r.body)
	}
}

func TestRememberMe(t *testing.T) {
	body := `{"username":"admin","password":"s3cret!","rememberMe":true}`
	for _, tc := range []struct {
		edition Edition
		want    time.Duration
	}{{EditionCurrent, 24 * time.Hour}, {EditionLegacy, 30 * 24 * time.Hour}} {
		f := newFixture(t, Options{Edition: tc.edition})
		m := f.do("POST", "/api/authenticate", body).json(t)
		tok, _ := m["token"].(string)
		if tok == "" {
			tok = m["id_token"].(string)
		}
		if exp := decodeSegment(t, strings.Split(tok, ".")[1])["exp"]; exp != float64(t0.Add(tc.want).Unix()) {
			t.Errorf("%s: exp %v, want now+%v", tc.edition, exp, tc.want)
		}
	}
}

func TestSetPassword(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.login("admin", "s3cret!")
	f.srv.SetPassword("Admin", "n3w-password")
	wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!")), 401)
	f.login("admin", "n3w-password")
	// Tokens issued before stay valid.
	wantStatus(t, f.do("GET", "/api/authenticate", "", "Authorization", "Bearer "+tok), 200)
	f.srv.SetPassword("newuser", "another1")
	f.login("newuser", "another1")
}

func TestIsAuthenticated(t *testing.T) {
	f := newFixture(t, Options{})
	r := f.do("GET", "/api/authenticate", "")
	wantStatus(t, r, 401)
	if r.body != "" {
		t.Errorf("body %q, want empty", r.body)
	}
	tok := f.login("admin", "s3cret!")
	r = f.do("GET", "/api/authenticate?access_token="+tok, "")
	if r.status != 200 || r.body != "admin" {
		t.Errorf("access_token parameter: %d %q", r.status, r.body)
	}
	r = f.do("GET", "/api/authenticate", "", "Authorization", "bearer "+tok)
	wantStatus(t, r, http.StatusUnauthorized) // the prefix is case-sensitive
}
