package utmstack

// Native fuzz tests for the parsers that read what UTMStack (or whatever
// answers in its place: a proxy, a login page) sends back. Seed corpora live
// in testdata/fuzz/<FuzzName>/. Run one target at a time, for example:
//
//	go test -run '^$' -fuzz '^FuzzParseCounts$' -fuzztime 60s ./utmstack/

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
)

// fuzzJWT builds an unsigned JWT whose payload is the given bytes.
func fuzzJWT(payload []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS512"}`)) + "." + enc(payload) + ".c2lnbmF0dXJl"
}

// tokenFragments returns, for every place where the input holds something
// that looks like a JWT (base64url of `{"`, i.e. "eyJ"), the 12 bytes that
// start there. An error that repeats any part of such a token of 12 bytes or
// more necessarily contains one of these fragments.
func tokenFragments(in []byte) []string {
	const n = 12
	var out []string
	for i := 0; i+n <= len(in); i++ {
		if bytes.HasPrefix(in[i:], []byte("eyJ")) {
			out = append(out, string(in[i:i+n]))
		}
	}
	return out
}

func assertNoTokenFragment(t *testing.T, input []byte, err error) {
	t.Helper()
	msg := err.Error()
	for _, frag := range tokenFragments(input) {
		if strings.Contains(msg, frag) {
			t.Fatalf("error repeats token-like input %q: %s", frag, msg)
		}
	}
}

func FuzzParseLoginResponse(f *testing.F) {
	full := fuzzJWT([]byte(`{"sub":"prometheus","auth":"ROLE_ADMIN,ROLE_USER","authenticated":true,"exp":1900000000}`))
	pre := fuzzJWT([]byte(`{"sub":"prometheus","auth":"ROLE_PRE_VERIFICATION_USER","authenticated":false,"exp":1747000300}`))
	for _, body := range []string{
		`{"success":true,"tfaConfigured":false,"forceTfa":false,"method":null,"token":"` + full + `","tfaExpiresInSeconds":0}`,
		`{"id_token":"` + full + `","authenticated":true}`,
		`{"success":true,"forceTfa":true,"token":"` + pre + `","tfaExpiresInSeconds":300}`,
		`{"id_token":"` + full[:40],
		`<html><body>502 Bad Gateway ` + full + `</body></html>`,
		``,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseLoginResponse(body)
		if err != nil {
			if got != (loginAnswer{}) {
				t.Fatalf("error %q came with a non-zero answer %+v", err, got)
			}
			assertNoTokenFragment(t, body, err)
			return
		}
		if got.token == "" {
			t.Fatalf("success with an empty token for %q", body)
		}
		// A pre-verification token must never be handed out as usable.
		if claims, cerr := parseTokenClaims(got.token); cerr == nil && claims.preVerification() && !got.tfaRequired {
			t.Fatalf("pre-verification token %q not flagged as TFA-pending", got.token)
		}
	})
}

func FuzzParseTokenClaims(f *testing.F) {
	for _, payload := range []string{
		`{"sub":"prometheus","auth":"ROLE_ADMIN,ROLE_USER","authenticated":true,"exp":1900000000}`,
		`{"sub":"prometheus","auth":"ROLE_PRE_VERIFICATION_USER","authenticated":false,"exp":1747000300}`,
		`{"sub":"prometheus","auth":"ROLE_USER"}`,
		`{"exp":253402300800}`,
		`{"exp":1.9e9}`,
		`{"exp":-1}`,
	} {
		f.Add(fuzzJWT([]byte(payload)))
	}
	f.Add("not.a.jwt")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := parseTokenClaims(token)
		if err != nil {
			if claims != (tokenClaims{}) {
				t.Fatalf("error %q came with non-zero claims %+v", err, claims)
			}
			assertNoTokenFragment(t, []byte(token), err)
			return
		}
		if n := strings.Count(token, "."); n != 2 {
			t.Fatalf("accepted a token with %d dots: %q", n, token)
		}
		if !claims.Expiry.IsZero() {
			if s := claims.Expiry.Unix(); s <= 0 || s > maxUnixSeconds {
				t.Fatalf("expiry %d outside 1..%d for %q", s, int64(maxUnixSeconds), token)
			}
		}
	})
}

func FuzzTokenClaimsRoundTrip(f *testing.F) {
	f.Add(int64(1900000000), true)
	f.Add(int64(1747000300), false)
	f.Add(int64(0), true)
	f.Add(int64(maxUnixSeconds), true)
	f.Add(int64(maxUnixSeconds+1), false)
	f.Fuzz(func(t *testing.T, exp int64, authenticated bool) {
		payload := `{"sub":"prometheus","auth":"ROLE_ADMIN,ROLE_USER","authenticated":` +
			strconv.FormatBool(authenticated) + `,"exp":` + strconv.FormatInt(exp, 10) + `}`
		enc := []string{
			fuzzJWT([]byte(payload)),
			// Padded base64url, as some encoders write it: the parser trims '='.
			base64.URLEncoding.EncodeToString([]byte(`{"alg":"HS512"}`)) + "." +
				base64.URLEncoding.EncodeToString([]byte(payload)) + ".c2ln",
		}
		for _, token := range enc {
			claims, err := parseTokenClaims(token)
			if exp <= 0 || exp > maxUnixSeconds {
				if err == nil {
					t.Fatalf("exp %d accepted (expiry %v)", exp, claims.Expiry)
				}
				continue
			}
			if err != nil {
				t.Fatalf("exp %d, authenticated %v: %v", exp, authenticated, err)
			}
			if got := claims.Expiry.Unix(); got != exp {
				t.Fatalf("expiry %d, want %d", got, exp)
			}
			if claims.Authenticated == nil || *claims.Authenticated != authenticated {
				t.Fatalf("authenticated %v, want %v", claims.Authenticated, authenticated)
			}
			if claims.Authorities != "ROLE_ADMIN,ROLE_USER" {
				t.Fatalf("authorities %q", claims.Authorities)
			}
			if claims.preVerification() != !authenticated {
				t.Fatalf("preVerification() = %v for authenticated=%v", claims.preVerification(), authenticated)
			}
		}
	})
}

// nonNegativeIntObject decides, with encoding/json alone, whether body is one
// JSON object whose values are all integers in 0..MaxInt64, and returns it.
func nonNegativeIntObject(body []byte) (map[string]int64, bool) {
	var probe any
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, false
	}
	obj, ok := probe.(map[string]any)
	if !ok {
		return nil, false
	}
	for _, v := range obj {
		if v == nil { // null decodes into int64 as 0 without an error
			return nil, false
		}
	}
	var want map[string]int64
	if err := json.Unmarshal(body, &want); err != nil {
		return nil, false
	}
	for _, n := range want {
		if n < 0 || n > 1<<53 {
			return nil, false
		}
	}
	if n := topLevelPairs(body); n != len(want) || n > 1000 {
		return nil, false // a repeated key (an earlier value may be out of range), or more than the top
	}
	return want, true
}

// topLevelPairs counts the key-value pairs of a valid JSON object body.
func topLevelPairs(body []byte) int {
	var pairs []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return -1
	}
	for dec.More() {
		if _, err := dec.Token(); err != nil { // the key
			return -1
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return -1
		}
		pairs = append(pairs, v)
	}
	return len(pairs)
}

func FuzzParseCounts(f *testing.F) {
	for _, body := range []string{
		`{"2": 812, "5": 97, "3": 12}`,
		`{"US": 1200, "CN": 12.0, "RU": 1e3}`,
		`{"US": -3}`,
		`{"US": 9223372036854775807, "CN": 9223372036854775808}`,
		`{"US": "12"}`,
		`<html><head><title>502 Bad Gateway</title></head></html>`,
		`{"US": 12, "CN"`,
		`{}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseCounts(body, 1000)
		if err != nil {
			if got != nil {
				t.Fatalf("error %q came with counts %v", err, got)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "expected ") && !strings.HasPrefix(msg, "count for key ") {
				t.Fatalf("error %q does not say what was expected", msg)
			}
		} else {
			checkAcceptedCounts(t, body, got)
		}
		want, ok := nonNegativeIntObject(body)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("rejected a JSON object of non-negative integers %q: %v", body, err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

// checkAcceptedCounts: an accepted answer is one JSON object whose every
// value is a number literal equal to its count (no fraction dropped, no
// overflow wrapped), and the counts survive encoding and parsing again.
func checkAcceptedCounts(t *testing.T, body []byte, got map[string]int64) {
	t.Helper()
	var literals map[string]json.RawMessage
	if err := json.Unmarshal(body, &literals); err != nil || len(literals) != len(got) {
		t.Fatalf("accepted %q as %v, but it is not one JSON object with those keys (%v)", body, got, err)
	}
	for k, n := range got {
		f, err := strconv.ParseFloat(string(literals[k]), 64)
		if n < 0 || err != nil || f != float64(n) {
			t.Fatalf("key %q: count %d from literal %s", k, n, literals[k])
		}
	}
	again, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := parseCounts(again, 1000); err != nil || !maps.Equal(back, got) {
		t.Fatalf("%v does not survive a round trip: %s gives %v, %v", got, again, back, err)
	}
}
