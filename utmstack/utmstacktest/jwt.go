package utmstacktest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// Authorities as TokenProvider writes them into the "auth" claim.
const (
	authoritiesFull = "ROLE_ADMIN,ROLE_USER"
	authorityPreTFA = "ROLE_PRE_VERIFICATION_USER"
)

// jwtHeader is what jjwt writes for signWith(key, HS512): only "alg".
const jwtHeader = `{"alg":"HS512"}`

// jwtClaims mirrors TokenProvider.createToken; the field order is jjwt's.
type jwtClaims struct {
	Sub           string `json:"sub"`
	Auth          string `json:"auth"`
	Authenticated bool   `json:"authenticated"`
	Exp           *int64 `json:"exp,omitempty"`
}

// newSigningKey returns 64 random bytes, like CipherUtil.generateSafeToken at
// every JVM start.
func newSigningKey() []byte {
	k := make([]byte, 64)
	if _, err := rand.Read(k); err != nil {
		panic("utmstacktest: no randomness: " + err.Error())
	}
	return k
}

var b64 = base64.RawURLEncoding

// signJWT builds a compact HS512 JWS. exp is truncated to whole seconds as
// jjwt does with a java.util.Date.
func signJWT(key []byte, sub, auth string, authenticated bool, exp time.Time) string {
	e := exp.Unix()
	payload, _ := json.Marshal(jwtClaims{Sub: sub, Auth: auth, Authenticated: authenticated, Exp: &e})
	signingInput := b64.EncodeToString([]byte(jwtHeader)) + "." + b64.EncodeToString(payload)
	return signingInput + "." + b64.EncodeToString(hs512(key, signingInput))
}

func hs512(key []byte, data string) []byte {
	m := hmac.New(sha512.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

var errInvalidJWT = errors.New("invalid JWT")

// parseJWT validates a token the way jjwt's parseClaimsJws does for
// TokenProvider: HS512 signature with the current key, and not expired
// (expired means now is after exp; no clock skew).
func parseJWT(key []byte, token string, now time.Time) (jwtClaims, error) {
	var c jwtClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errInvalidJWT
	}
	hdr, err := b64.DecodeString(parts[0])
	if err != nil {
		return c, errInvalidJWT
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || h.Alg != "HS512" {
		return c, errInvalidJWT
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, hs512(key, parts[0]+"."+parts[1])) {
		return c, errInvalidJWT
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, errInvalidJWT
	}
	if c.Exp != nil && now.After(time.Unix(*c.Exp, 0)) {
		return c, errInvalidJWT
	}
	return c, nil
}

// hasAuthority reports whether the comma-separated auth claim holds one of want.
func hasAuthority(auth string, want ...string) bool {
	for _, a := range strings.Split(auth, ",") {
		if slices.Contains(want, strings.TrimSpace(a)) {
			return true
		}
	}
	return false
}
