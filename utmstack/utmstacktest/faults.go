package utmstacktest

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

// nginxTooManyRequests is the page nginx's limit_req answers with when
// limit_req_status is 429.
const nginxTooManyRequests = "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n" +
	"<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

// LoginRateLimit is a fault for SetFault: every POST /api/authenticate gets
// a 429 as a rate-limiting proxy in front of UTMStack answers it, nginx's
// HTML page, with a Retry-After header when retryAfter is not empty (say
// "120", or an HTTP-date). Other requests go through. The logins never
// reach the backend, so they count toward no lock-out; Requests and
// LoginAttempts still count them. (UTMStack v12 also answers 429 to logins
// after 9 failures, without Retry-After, but on /api/v1/auth/login, which
// the fake does not serve.)
func LoginRateLimit(retryAfter string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/api/authenticate" {
			return false
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(nginxTooManyRequests)))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(nginxTooManyRequests))
		return true
	}
}

// LoginBlocked is a fault for SetFault: every POST /api/authenticate is
// refused as UTMStack refuses a blocked IP (TooMuchLoginAttemptsException:
// an empty body and v11.0.x's text in X-UtmStack-error) with the given
// status, 423 from GlobalExceptionHandler or 401 where ExceptionTranslator
// handles it, plus a Retry-After header when retryAfter is not empty, as a
// proxy in front of UTMStack may add. Other requests go through.
func LoginBlocked(status int, retryAfter string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/api/authenticate" {
			return false
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		utmError(w, status, "Authentication blocked: IP "+clientIP(r)+" exceeded login attempt threshold")
		return true
	}
}

// BadCredentialsAs returns a fault for SetFault that judges every login as
// UTMStack does (a wrong password still counts toward the lock-out) but
// answers its "Bad credentials" refusal with status instead of 401, as the
// catch-all exception handler does when the BadCredentialsException arrives
// wrapped: 500, an empty body, the text in X-UtmStack-error. Every other
// answer goes through unchanged.
func (s *Server) BadCredentialsAs(status int) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/api/authenticate" {
			return false
		}
		rec := httptest.NewRecorder()
		s.serve(rec, r)
		if rec.Code == http.StatusUnauthorized && strings.Contains(rec.Header().Get("X-UtmStack-error"), "Bad credentials") {
			rec.Code = status
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return true
	}
}

// DataAnswer is a fault for SetFault: every POST to path (say
// "/api/elasticsearch/property/values-with-count") is answered 200 with
// body as JSON, whatever it asked: a hostile or broken UTMStack's answer
// (far more buckets than asked, counts near MaxInt64, a @timestamp in
// year 2300). Other requests go through.
func DataAnswer(path string, body []byte) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != path {
			return false
		}
		writeRawJSON(w, http.StatusOK, body)
		return true
	}
}
