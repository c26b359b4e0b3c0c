package utmstacktest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Response shapes of the real backend. There are three kinds of errors (spec
// §8): controller errors (status, empty body, X-UtmStack-error), security
// rejections (Spring Boot's /error JSON) and, on the legacy edition, the
// JHipster problem+json of ExceptionTranslator.

const springTimestampLayout = "2006-01-02T15:04:05.000-07:00"

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic("utmstacktest: cannot encode response: " + err.Error())
	}
	writeRawJSON(w, status, body)
}

func writeRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// utmError is HeaderUtil.createFailureAlert("", "", msg): a status with an
// empty body and the message in X-UtmStack-error.
func utmError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-UtmStack-error", msg)
	w.Header().Set("X-UtmStack-params", "")
	w.WriteHeader(status)
}

// SpringError writes Spring Boot's BasicErrorController body, which UTMStack
// renders after response.sendError(status) or an exception escaping the
// filter chain. Tests use it in SetFault to refuse a call as UTMStack would.
func (s *Server) SpringError(w http.ResponseWriter, r *http.Request, status int) {
	type body struct {
		Timestamp string `json:"timestamp"`
		Status    int    `json:"status"`
		Error     string `json:"error"`
		Path      string `json:"path"`
	}
	writeJSON(w, status, body{
		Timestamp: s.now().Format(springTimestampLayout),
		Status:    status,
		Error:     http.StatusText(status),
		Path:      r.URL.Path,
	})
}

// problem is JHipster's ExceptionTranslator output (legacy edition).
type problem struct {
	Type        string       `json:"type"`
	Title       string       `json:"title"`
	Status      int          `json:"status"`
	Detail      string       `json:"detail,omitempty"`
	Path        string       `json:"path"`
	Message     string       `json:"message"`
	FieldErrors []fieldError `json:"fieldErrors,omitempty"`
}

type fieldError struct {
	ObjectName string `json:"objectName"`
	Field      string `json:"field"`
	Message    string `json:"message"`
}

func writeProblem(w http.ResponseWriter, p problem) {
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// mvcError answers an exception Spring MVC raises before the controller runs
// (unreadable body, wrong method or media type). In v11.0.x the catch-all
// handler of GlobalExceptionHandler turns it into a 500 with the message in
// X-UtmStack-error; older backends give ExceptionTranslator's problem+json
// with the exception's own status.
func (s *Server) mvcError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if s.opts.Edition == EditionCurrent {
		utmError(w, http.StatusInternalServerError, msg)
		return
	}
	writeProblem(w, problem{
		Type:    "https://www.jhipster.tech/problem/problem-with-message",
		Title:   http.StatusText(status),
		Status:  status,
		Detail:  msg,
		Path:    r.URL.Path,
		Message: "error.http." + strconv.Itoa(status),
	})
}

// validationError is a failed @Valid on a request body
// (MethodArgumentNotValidException); errs carry the constraints' default
// messages. Both editions answer 400. v11.0.x's GlobalExceptionHandler has
// its own handler for it: an empty body and the first error's message in
// X-UtmStack-error (which error Hibernate Validator lists first is not
// defined; the fake takes declaration order). Older backends give
// ExceptionTranslator's problem+json with every field error.
func (s *Server) validationError(w http.ResponseWriter, r *http.Request, errs []fieldError) {
	if s.opts.Edition == EditionCurrent {
		utmError(w, http.StatusBadRequest, errs[0].Message)
		return
	}
	writeProblem(w, problem{
		Type:        "https://www.jhipster.tech/problem/constraint-violation",
		Title:       "Method argument not valid",
		Status:      http.StatusBadRequest,
		Path:        r.URL.Path,
		Message:     "error.validation",
		FieldErrors: errs,
	})
}
