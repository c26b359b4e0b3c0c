package utmstack

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// tokenClaims are the claims of a UTMStack JWT the client cares about.
// TokenProvider writes sub, auth, authenticated and exp; no iat.
type tokenClaims struct {
	Expiry        time.Time // zero when the token has no exp
	Authenticated *bool     // false on a pre-verification (TFA) token
	Authorities   string    // comma-separated, e.g. "ROLE_ADMIN,ROLE_USER"
}

const preVerificationRole = "ROLE_PRE_VERIFICATION_USER"

// preVerification tells whether the token is only good for the TFA step.
func (c tokenClaims) preVerification() bool {
	if c.Authenticated != nil && !*c.Authenticated {
		return true
	}
	for _, role := range strings.Split(c.Authorities, ",") {
		if strings.TrimSpace(role) == preVerificationRole {
			return true
		}
	}
	return false
}

// parseTokenClaims decodes the payload of a JWT without verifying it: the
// client only needs to know when to renew and whether TFA is pending; the
// server does the verifying.
func parseTokenClaims(token string) (tokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return tokenClaims{}, errors.New("token is not a JWT (want three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return tokenClaims{}, errors.New("JWT payload is not base64url")
	}
	var raw struct {
		Exp           *json.Number `json:"exp"`
		Authenticated *bool        `json:"authenticated"`
		Auth          string       `json:"auth"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return tokenClaims{}, errors.New("JWT payload is not a JSON object of the expected claims")
	}
	claims := tokenClaims{Authenticated: raw.Authenticated, Authorities: raw.Auth}
	if raw.Exp != nil {
		secs, err := raw.Exp.Int64()
		if err != nil || secs <= 0 || secs > maxUnixSeconds {
			return tokenClaims{}, errors.New("JWT exp claim is not a plausible epoch second")
		}
		claims.Expiry = time.Unix(secs, 0)
	}
	return claims, nil
}

// maxUnixSeconds keeps exp inside what time.Time handles sanely (year 9999).
const maxUnixSeconds = 253402300799
