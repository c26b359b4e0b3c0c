package utmstack

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// credential is what one request carries. For password logins it is a JWT
// the client may drop and renew; keys are fixed.
type credential struct {
	method    AuthMethod
	token     string // the JWT, so invalidate drops only the token that failed
	renewable bool
	apply     func(http.Header)
}

type authenticator interface {
	credential(ctx context.Context) (credential, error)
	invalidate(credential)
}

func newAuthenticator(c *Client, creds Credentials) (authenticator, error) {
	secret := creds.Secret.Reveal()
	if secret == "" {
		return nil, fmt.Errorf("utmstack: %s authentication needs a secret", creds.Method)
	}
	if strings.ContainsAny(secret, "\r\n") {
		return nil, fmt.Errorf("utmstack: the %s secret contains a line break", creds.Method)
	}
	switch creds.Method {
	case AuthPassword:
		if creds.Username == "" {
			return nil, fmt.Errorf("utmstack: password authentication needs a username")
		}
		return newPasswordAuth(c, creds.Username, creds.Secret), nil
	case AuthAPIKey:
		// The public guide documents Bearer; v11.0.x's ApiKeyFilter reads
		// Utm-Api-Key. A non-JWT Bearer is ignored by JWTFilter, so both
		// can go together and the key works on either.
		return staticAuth{credential{method: AuthAPIKey, apply: func(h http.Header) {
			h.Set("Authorization", "Bearer "+secret)
			h.Set("Utm-Api-Key", secret)
		}}}, nil
	case AuthInternalKey:
		return staticAuth{credential{method: AuthInternalKey, apply: func(h http.Header) {
			h.Set("Utm-Internal-Key", secret)
		}}}, nil
	}
	return nil, fmt.Errorf("utmstack: unknown authentication method %q", creds.Method)
}

// staticAuth sends a fixed key; there is nothing to renew.
type staticAuth struct{ cred credential }

func (s staticAuth) credential(context.Context) (credential, error) { return s.cred, nil }
func (s staticAuth) invalidate(credential)                          {}
