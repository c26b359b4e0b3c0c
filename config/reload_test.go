package config

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// reloadFixture is a Reloader over a temp file whose apply records what it
// was given.
type reloadFixture struct {
	path     string
	reloader *Reloader
	registry *prometheus.Registry
	logs     *strings.Builder

	mu      sync.Mutex
	applied []*Config
	refuse  error // apply fails with this when set
}

const goodReloadFile = `utmstack:
  url: https://utmstack.example.com
  auth:
    username: prometheus
    password_file: %PW%
queries:
  - name: %NAME%
`

func newReloadFixture(t *testing.T) *reloadFixture {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("reload-test-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &reloadFixture{path: filepath.Join(dir, "utmstack.yml"), registry: prometheus.NewRegistry(), logs: &strings.Builder{}}
	f.write(t, strings.ReplaceAll(goodReloadFile, "%PW%", pw), "first")
	f.reloader = NewReloader(f.path, nil, f.apply, slog.New(slog.NewTextHandler(f.logs, nil)), f.registry)
	f.reloader.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	return f
}

func (f *reloadFixture) write(t *testing.T, text, name string) {
	t.Helper()
	text = strings.ReplaceAll(text, "%NAME%", name)
	if strings.Contains(text, "%PW%") {
		text = strings.ReplaceAll(text, "%PW%", filepath.Join(filepath.Dir(f.path), "password"))
	}
	if err := os.WriteFile(f.path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *reloadFixture) apply(cfg *Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	f.applied = append(f.applied, cfg)
	return nil
}

// running is the name of the query of the last configuration applied.
func (f *reloadFixture) running() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.applied) == 0 {
		return ""
	}
	return f.applied[len(f.applied)-1].Queries[0].Name
}

func (f *reloadFixture) post(t *testing.T, method string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.reloader.ServeHTTP(rec, httptest.NewRequest(method, "/-/reload", nil))
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (f *reloadFixture) wantMetrics(t *testing.T, successful, timestamp string) {
	t.Helper()
	err := testutil.GatherAndCompare(f.registry, strings.NewReader(`
# HELP utmstack_exporter_config_last_reload_success_timestamp_seconds Unix time of the last successful configuration load.
# TYPE utmstack_exporter_config_last_reload_success_timestamp_seconds gauge
utmstack_exporter_config_last_reload_success_timestamp_seconds `+timestamp+`
# HELP utmstack_exporter_config_last_reload_successful 1 when the last configuration load succeeded.
# TYPE utmstack_exporter_config_last_reload_successful gauge
utmstack_exporter_config_last_reload_successful `+successful+`
`))
	if err != nil {
		t.Fatal(err)
	}
}

func TestReloadEndpointAcceptsPostOnly(t *testing.T) {
	f := newReloadFixture(t)
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		resp, body := f.post(t, method)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /-/reload: HTTP %d, want 405", method, resp.StatusCode)
		}
		if allow := resp.Header.Get("Allow"); allow != http.MethodPost {
			t.Errorf("%s /-/reload: Allow %q, want POST", method, allow)
		}
		if method != http.MethodHead && !strings.Contains(body, "POST") {
			t.Errorf("%s /-/reload: the answer does not say POST is needed: %q", method, body)
		}
	}
	if n := len(f.applied); n != 0 {
		t.Fatalf("%d configurations applied by requests other than POST", n)
	}
}

func TestReloadEndpointGoodThenBrokenFile(t *testing.T) {
	f := newReloadFixture(t)

	resp, body := f.post(t, http.MethodPost)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST with a good file: HTTP %d: %s", resp.StatusCode, body)
	}
	if f.running() != "first" {
		t.Fatalf("running %q after a good reload, want first", f.running())
	}
	f.wantMetrics(t, "1", "1.8e+09")

	// A broken file: a bad operator deep in a query.
	f.write(t, goodReloadFile+"    filters:\n      - {field: status, operator: EQUALS, value: 2}\n", "second")
	resp, body = f.post(t, http.MethodPost)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("POST with a broken file: HTTP %d, want 500: %s", resp.StatusCode, body)
	}
	for _, want := range []string{f.path, "queries[0].filters[0].operator", "EQUALS"} {
		if !strings.Contains(body, want) {
			t.Errorf("the answer does not name %q: %s", want, body)
		}
	}
	if f.running() != "first" {
		t.Fatalf("running %q after a failed reload, want the previous one (first)", f.running())
	}
	f.wantMetrics(t, "0", "1.8e+09") // the last success keeps its time
	if !strings.Contains(f.logs.String(), "queries[0].filters[0].operator") {
		t.Errorf("the log does not say why:\n%s", f.logs)
	}

	// YAML that does not parse at all.
	f.write(t, "utmstack:\n  url: [unterminated\n", "third")
	resp, body = f.post(t, http.MethodPost)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, f.path) {
		t.Fatalf("POST with unparsable YAML: HTTP %d: %s", resp.StatusCode, body)
	}

	// A missing file.
	if err := os.Remove(f.path); err != nil {
		t.Fatal(err)
	}
	resp, body = f.post(t, http.MethodPost)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "no such file") {
		t.Fatalf("POST with the file gone: HTTP %d: %s", resp.StatusCode, body)
	}
	if f.running() != "first" {
		t.Fatalf("running %q, want first", f.running())
	}

	// Fixed again: the reload succeeds and the metrics say so.
	f.reloader.now = func() time.Time { return time.Unix(1_800_000_060, 0) }
	f.write(t, goodReloadFile, "fourth")
	resp, body = f.post(t, http.MethodPost)
	if resp.StatusCode != http.StatusOK || f.running() != "fourth" {
		t.Fatalf("POST after the fix: HTTP %d, running %q: %s", resp.StatusCode, f.running(), body)
	}
	f.wantMetrics(t, "1", "1.80000006e+09")
}

func TestReloadRefusedByApplyKeepsThePrevious(t *testing.T) {
	f := newReloadFixture(t)
	if _, body := f.post(t, http.MethodPost); f.running() != "first" {
		t.Fatalf("first reload: %s", body)
	}
	f.write(t, goodReloadFile, "second")
	f.refuse = errors.New("building the UTMStack client: bad proxy")
	resp, body := f.post(t, http.MethodPost)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "bad proxy") {
		t.Fatalf("POST refused by apply: HTTP %d, want 500 naming the cause: %s", resp.StatusCode, body)
	}
	if f.running() != "first" {
		t.Fatalf("running %q, want first", f.running())
	}
	f.wantMetrics(t, "0", "1.8e+09")
}

// The log says a previous configuration stays in use only when there is
// one: at start-up there is none.
func TestReloadLogNamesThePreviousOnlyWhenThereIsOne(t *testing.T) {
	const keeps = "the previous one stays in use"
	f := newReloadFixture(t)
	f.refuse = errors.New("building the UTMStack client: bad proxy")
	if err := f.reloader.Reload(); err == nil {
		t.Fatal("the first load succeeded although apply refused it")
	}
	if logs := f.logs.String(); strings.Contains(logs, keeps) || !strings.Contains(logs, `msg="Configuration not loaded"`) {
		t.Errorf("a failed first load logged:\n%s\nwant \"Configuration not loaded\" without %q: there is no previous configuration", logs, keeps)
	}
	f.refuse = nil
	if err := f.reloader.Reload(); err != nil {
		t.Fatal(err)
	}
	f.logs.Reset()
	f.refuse = errors.New("building the UTMStack client: bad proxy")
	if err := f.reloader.Reload(); err == nil {
		t.Fatal("a reload succeeded although apply refused it")
	}
	if logs := f.logs.String(); !strings.Contains(logs, keeps) {
		t.Errorf("a failed reload after a good load logged:\n%s\nwant %q", logs, keeps)
	}
}

func TestReloadAnswerNeverHoldsTheSecret(t *testing.T) {
	f := newReloadFixture(t)
	// The secret inline, beside a mistake: the answer names the mistake,
	// never the value.
	const inline = "inline-secret-in-a-broken-file"
	f.write(t, "utmstack:\n  url: https://utmstack.example.com\n  timeout: -1s\n  auth:\n    username: prometheus\n    password: "+inline+"\n", "x")
	resp, body := f.post(t, http.MethodPost)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
	}
	if strings.Contains(body, inline) || strings.Contains(f.logs.String(), inline) {
		t.Fatalf("the secret is in the answer or the log:\n%s\n%s", body, f.logs)
	}
	if !strings.Contains(body, "utmstack.timeout") {
		t.Fatalf("the answer does not name the problem: %s", body)
	}
}

// Every load logs the configuration's notices: which secret is used when
// the environment holds another.
func TestReloadLogsNotices(t *testing.T) {
	f := newReloadFixture(t)
	getenv := env(EnvPassword, "env-pw-not-to-be-logged")
	f.reloader = NewReloader(f.path, getenv, f.apply, slog.New(slog.NewTextHandler(f.logs, nil)), prometheus.NewRegistry())
	for range 2 {
		if err := f.reloader.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	logs := f.logs.String()
	want := `level=WARN msg="Configuration notice" file=` + f.path + ` notice="utmstack.auth: the environment variable UTMSTACK_PASSWORD is set and not used: the password comes from password_file `
	if n := strings.Count(logs, want); n != 2 {
		t.Errorf("%d notices for 2 loads in the log, want 2:\n%s", n, logs)
	}
	if strings.Contains(logs, "env-pw-not-to-be-logged") || strings.Contains(logs, "reload-test-password") {
		t.Errorf("a secret is in the log:\n%s", logs)
	}
}
