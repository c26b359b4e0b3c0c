package utmstack

import (
	"encoding/base64"
	"maps"
	"strings"
	"testing"
	"time"
)

// jwtWith builds an unsigned token with the given JSON claims; the client
// never verifies signatures, the server does.
func jwtWith(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS512"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func TestParseLoginResponse(t *testing.T) {
	full := jwtWith(`{"sub":"prometheus","auth":"ROLE_ADMIN,ROLE_USER","authenticated":true,"exp":1900000000}`)
	pre := jwtWith(`{"sub":"prometheus","auth":"ROLE_PRE_VERIFICATION_USER","authenticated":false,"exp":1900000000}`)
	tests := []struct {
		name    string
		body    string
		token   string
		tfa     bool
		wantErr string
	}{
		{name: "current shape", body: `{"success":true,"tfaConfigured":false,"forceTfa":false,"method":null,"token":"` + full + `","tfaExpiresInSeconds":0}`, token: full},
		{name: "legacy shape", body: `{"id_token":"` + full + `","authenticated":true}`, token: full},
		{name: "token wins over id_token", body: `{"token":"` + full + `","id_token":"other"}`, token: full},
		{name: "current shape forced TFA", body: `{"success":true,"forceTfa":true,"token":"` + pre + `","tfaExpiresInSeconds":300}`, token: pre, tfa: true},
		{name: "legacy shape TFA", body: `{"id_token":"` + full + `","authenticated":false}`, token: full, tfa: true},
		{name: "pre-verification claim alone", body: `{"token":"` + pre + `"}`, token: pre, tfa: true},
		{name: "no token", body: `{"success":true}`, wantErr: "neither token nor id_token"},
		{name: "empty token", body: `{"token":""}`, wantErr: "neither token nor id_token"},
		{name: "success false", body: `{"success":false,"token":"x"}`, wantErr: "success=false"},
		{name: "html page", body: `<html>oops</html>`, wantErr: "an HTML/XML page"},
		{name: "empty", body: ``, wantErr: "an empty body"},
		{name: "wrong type", body: `{"token":42}`, wantErr: "JSON object of another shape"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLoginResponse([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.token != tc.token || got.tfaRequired != tc.tfa {
				t.Fatalf("got token %q tfa %v, want %q tfa %v", got.token, got.tfaRequired, tc.token, tc.tfa)
			}
		})
	}
}

func TestParseLoginResponseNeverEchoesTheBody(t *testing.T) {
	_, err := parseLoginResponse([]byte(`{"token": ["eyJsecret-token-part"]}`))
	if err == nil || strings.Contains(err.Error(), "secret-token-part") {
		t.Fatalf("err = %v: want an error that does not quote the body", err)
	}
}

func TestParseTokenClaims(t *testing.T) {
	c, err := parseTokenClaims(jwtWith(`{"sub":"a","auth":"ROLE_USER","authenticated":true,"exp":1900000000}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Expiry.Equal(time.Unix(1900000000, 0)) || c.preVerification() {
		t.Fatalf("claims = %+v", c)
	}
	noExp, err := parseTokenClaims(jwtWith(`{"sub":"a"}`))
	if err != nil || !noExp.Expiry.IsZero() {
		t.Fatalf("no exp: %+v, %v", noExp, err)
	}
	for name, token := range map[string]string{
		"two parts":       "a.b",
		"not base64":      "a.!!!.c",
		"not json":        jwtWith(`nope`),
		"exp a string":    jwtWith(`{"exp":"soon"}`),
		"exp negative":    jwtWith(`{"exp":-5}`),
		"exp fractional":  jwtWith(`{"exp":1.5}`),
		"exp beyond 9999": jwtWith(`{"exp":99999999999999}`),
	} {
		if _, err := parseTokenClaims(token); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestParseCounts(t *testing.T) {
	got, err := parseCounts([]byte(`{"2": 812, "5": 97, "3": 12.0}`), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["2"] != 812 || got["5"] != 97 || got["3"] != 12 {
		t.Fatalf("got %v", got)
	}
	big, err := parseCounts([]byte(`{"US": 123456789012}`), 1000)
	if err != nil || big["US"] != 123456789012 {
		t.Fatalf("large count: %v, %v", big, err)
	}
	empty, err := parseCounts([]byte(`{}`), 1000)
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty object: %v, %v", empty, err)
	}
	for _, tc := range []struct {
		body string
		want map[string]int64
	}{
		{" {\n\t\"US\":1 ,\r\"CN\" : 0 } \n", map[string]int64{"US": 1, "CN": 0}},
		{`{"a":1,"a":2}`, map[string]int64{"a": 2}}, // the last of a duplicate key counts
		{`{"a":1e3,"b":1.2E+2,"c":-0}`, map[string]int64{"a": 1000, "b": 120, "c": 0}},
		{`{"T\u00fcrkiye":3,"":1}`, map[string]int64{"Türkiye": 3, "": 1}},
		{`{"a":9007199254740992}`, map[string]int64{"a": 1 << 53}},
	} {
		got, err := parseCounts([]byte(tc.body), 1000)
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("body %q: got %v, %v; want %v", tc.body, got, err, tc.want)
		}
	}
	for body, want := range map[string]string{
		``: "expected a JSON object of counts, got an empty body",
		`<html><body>502 Bad Gateway</body></html>`: `expected a JSON object of counts, got 41 bytes starting "<html><body>502 Bad Gateway</body></html>"`,
		`[1,2]`:                     "expected a JSON object of counts",
		`null`:                      "expected a JSON object of counts",
		`{"a": "12"}`:               `count for key "a" is a string, expected an integer`,
		`{"a": 1.5}`:                `count for key "a" is 1.5, expected a non-negative integer`,
		`{"a": -1}`:                 `count for key "a" is -1, expected a non-negative integer`,
		`{"a": null}`:               `count for key "a" is null, expected an integer`,
		`{"a": 1} {"b": 2}`:         "trailing data",
		`{"a": 1`:                   "expected a JSON object of counts",
		`{"a":1,"a":-2}`:            `count for key "a" is -2, expected a non-negative integer`,
		`{"a":1.5e0}`:               `count for key "a" is 1.5e0, expected a non-negative integer`,
		`{"a":1e400}`:               `count for key "a" is 1e400, expected a non-negative integer`,
		`{"a":9223372036854775808}`: `count for key "a" is 9223372036854775808, expected a non-negative integer`,
		`{"a":9223372036854775807}`: `count for key "a" is 9223372036854775807, expected a non-negative integer up to 2^53`,
		`{"a":9007199254740993}`:    `count for key "a" is 9007199254740993, expected a non-negative integer up to 2^53`,
		`{"a":01}`:                  "expected a JSON object of counts",
		`{}]`:                       "trailing data",
		"\ufeff{\"a\":1}":           "expected a JSON object of counts",
	} {
		_, err := parseCounts([]byte(body), 1000)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("body %q: err = %v, want it to contain %q", body, err, want)
		}
	}
}

func TestLoginBackoff(t *testing.T) {
	tests := []struct {
		reason Reason
		n      int
		want   time.Duration
	}{
		{ReasonBadCredentials, 1, 2 * time.Minute},
		{ReasonBadCredentials, 2, 4 * time.Minute},
		{ReasonBadCredentials, 3, 8 * time.Minute},
		{ReasonBadCredentials, 4, 15 * time.Minute},
		{ReasonBadCredentials, 1000, 15 * time.Minute},
		{ReasonTFARequired, 1, 2 * time.Minute},
		{ReasonLocked, 1, 11 * time.Minute},
		{ReasonLocked, 2, 22 * time.Minute},
		{ReasonLocked, 50, 30 * time.Minute},
		{ReasonError, 1, 2 * time.Second},
		{ReasonError, 100, time.Minute},
	}
	for _, tc := range tests {
		if got := loginBackoff(tc.reason, tc.n); got != tc.want {
			t.Errorf("loginBackoff(%s, %d) = %v, want %v", tc.reason, tc.n, got, tc.want)
		}
	}
}

func TestRefreshTime(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	if got := refreshTime(now, now.Add(24*time.Hour)); !got.Equal(now.Add(24*time.Hour - 144*time.Minute)) {
		t.Errorf("24h token: refresh at %v after now", got.Sub(now))
	}
	if got := refreshTime(now, now.Add(5*time.Minute)); !got.Equal(now.Add(4 * time.Minute)) {
		t.Errorf("5m token: refresh at %v after now, want a minute before exp", got.Sub(now))
	}
	if got := refreshTime(now, time.Time{}); !got.IsZero() {
		t.Errorf("no exp: refresh at %v, want never", got)
	}
}
