package utmstacktest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC)

// fixture is a running fake with a fake clock.
type fixture struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	clock *Clock
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = NewClock(t0)
	}
	if opts.Users == nil {
		opts.Users = map[string]string{"admin": "s3cret!"}
	}
	s := New(opts)
	h := httptest.NewServer(s)
	t.Cleanup(h.Close)
	return &fixture{t: t, srv: s, http: h, clock: opts.Clock}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request; headers alternate name, value.
func (f *fixture) do(method, path, body string, headers ...string) response {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.http.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.http.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func loginBody(user, password string) string {
	b, _ := json.Marshal(map[string]any{"username": user, "password": password, "rememberMe": false})
	return string(b)
}

// login logs in and returns the token from either response shape.
func (f *fixture) login(user, password string, headers ...string) string {
	f.t.Helper()
	r := f.do("POST", "/api/authenticate", loginBody(user, password), headers...)
	if r.status != 200 {
		f.t.Fatalf("login: status %d, error %q", r.status, r.header.Get("X-UtmStack-error"))
	}
	m := r.json(f.t)
	if tok, ok := m["token"].(string); ok {
		return tok
	}
	return m["id_token"].(string)
}

func (f *fixture) countBy(field string, filters string, extra string, headers ...string) response {
	f.t.Helper()
	if filters == "" {
		filters = "[]"
	}
	body := `{"field":"` + field + `","index":"v11-alert-*","filters":` + filters + extra + `}`
	return f.do("POST", "/api/elasticsearch/property/values-with-count", body, headers...)
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("segment %s: %v", b, err)
	}
	return m
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (X-UtmStack-error %q, body %q)", r.status, status, r.header.Get("X-UtmStack-error"), r.body)
	}
}

// wantSpringError checks Spring Boot's /error JSON.
func wantSpringError(t *testing.T, r response, status int, path string) {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	m := r.json(t)
	if m["status"] != float64(status) || m["error"] != http.StatusText(status) || m["path"] != path {
		t.Errorf("body %s, want status %d, error %q, path %q", r.body, status, http.StatusText(status), path)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000-07:00", m["timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	if r.header.Get("X-UtmStack-error") != "" {
		t.Errorf("unexpected X-UtmStack-error %q", r.header.Get("X-UtmStack-error"))
	}
}
