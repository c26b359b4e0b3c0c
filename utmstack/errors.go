package utmstack

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Reason classifies a failed login or a rejected credential. The values are
// the label values of utmstack_exporter_auth_failures_total.
type Reason string

const (
	ReasonBadCredentials Reason = "bad_credentials" // 401 on login, or a key UTMStack rejects
	ReasonLocked         Reason = "locked"          // 423 or 429 on login, or "blocked" in X-UtmStack-error
	ReasonTFARequired    Reason = "tfa_required"    // a pre-verification token came back
	ReasonForbidden      Reason = "forbidden"       // 403: wrong role, or nginx refused
	ReasonError          Reason = "error"           // transport failure, 5xx, odd answer
	// ReasonUnsupportedAPI: 404 where /api/v1/health answers 200, the API of
	// UTMStack v12, which this client does not speak.
	ReasonUnsupportedAPI Reason = "unsupported_api"
)

// Reasons lists every Reason, so counters can start at zero for each.
var Reasons = []Reason{ReasonBadCredentials, ReasonLocked, ReasonTFARequired, ReasonForbidden, ReasonUnsupportedAPI, ReasonError}

// Error is a failed call to UTMStack. It carries the endpoint, the HTTP
// status (0 when no answer came) and UTMStack's X-UtmStack-error header,
// never a credential.
type Error struct {
	Endpoint      string
	Status        int
	UTMStackError string
	Err           error
	// incomplete: the status line came but the body broke off or did not
	// arrive before the deadline.
	incomplete bool
	// retryAfter is the wait a lock-out answer's Retry-After asked for
	// (parseRetryAfter); retryAfterSet tells whether it carried one.
	retryAfter    time.Duration
	retryAfterSet bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Endpoint)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.UTMStackError != "" {
		fmt.Fprintf(&b, " (X-UtmStack-error: %s)", e.UTMStackError)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Answered tells whether UTMStack itself sent a whole HTTP answer. It did
// not when nothing came, when the body broke off or outlived the deadline,
// or when a gateway answered 502, 503 or 504 for it: UTMStack's own
// controllers never use those; nginx in front of it does when the backend is
// down.
func (e *Error) Answered() bool {
	switch e.Status {
	case 0, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return false
	}
	return !e.incomplete
}

// AuthError is a failure to authenticate. Attempted is false when the
// client did not contact UTMStack because a backoff was still running;
// RetryAt says when the credential may be tried again.
type AuthError struct {
	Reason    Reason
	Attempted bool
	RetryAt   time.Time
	Err       error
	// next names what RetryAt holds back: a login, or a request with a key
	// (which has no login).
	next string
}

const nextLogin = "next login"

// nextRequest is what a rejection backoff holds back for a method.
func nextRequest(m AuthMethod) string {
	switch m {
	case AuthAPIKey:
		return "next request with the API key"
	case AuthInternalKey:
		return "next request with the internal key"
	}
	return "next request with the login token"
}

func (e *AuthError) Error() string {
	var retry string
	if !e.RetryAt.IsZero() {
		next := e.next
		if next == "" {
			next = "next attempt"
		}
		retry = fmt.Sprintf(", %s not before %s", next, e.RetryAt.UTC().Format(time.RFC3339))
	}
	if !e.Attempted {
		return fmt.Sprintf("authentication failed earlier (%s)%s: %v", e.Reason, retry, e.Err)
	}
	return fmt.Sprintf("authentication failed (%s)%s: %v", e.Reason, retry, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }
