package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// TestCredentialsNeverFollowARedirectToAnotherHost: the configured UTMStack
// answers every request with a redirect to another server (same loopback
// IP, another port: another host as far as credentials go). Whatever the
// authentication method, that server must see nothing, and the scrape says
// UTMStack is down.
func TestCredentialsNeverFollowARedirectToAnotherHost(t *testing.T) {
	const (
		apiKey      = "redirect-test-api-key-0123456789"
		internalKey = "redirect-test-internal-key-0123456789"
	)
	for _, tc := range []struct {
		method string
		auth   string
		env    map[string]string
		secret string
	}{
		{"password", "    username: " + testUser + "\n", map[string]string{"UTMSTACK_PASSWORD": testPassword}, testPassword},
		{"api_key", "    api_key_file: %s\n", nil, apiKey},
		{"internal_key", "    internal_key_file: %s\n", nil, internalKey},
		{"api_key from env", "", map[string]string{"UTMSTACK_API_KEY": apiKey}, apiKey},
	} {
		t.Run(tc.method, func(t *testing.T) {
			h := newHarness(t, knownAlerts(), "")
			var leaked atomic.Int64
			var leakedHeaders atomic.Value
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				leaked.Add(1)
				leakedHeaders.Store(fmt.Sprint(r.Header))
				_, _ = io.WriteString(w, `{"2":1}`)
			}))
			t.Cleanup(other.Close)
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
			}))
			t.Cleanup(redirector.Close)

			auth := tc.auth
			if strings.Contains(auth, "%s") {
				auth = fmt.Sprintf(auth, writeSecret(t, tc.secret))
			}
			text := fmt.Sprintf("utmstack:\n  url: %s\n  auth:\n%s", redirector.URL, auth)
			if auth == "" {
				text = fmt.Sprintf("utmstack:\n  url: %s\n", redirector.URL)
			}
			cfg, err := config.Parse([]byte(text), "redirect.yml", func(k string) (string, bool) {
				v, ok := tc.env[k]
				return v, ok
			})
			if err != nil {
				t.Fatalf("config: %v\n%s", err, text)
			}
			if err := h.exporter.Apply(cfg); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				series, body, _ := promScrape(t, h, "")
				if series["utmstack_up"] != 0 {
					t.Fatalf("utmstack_up is not 0 when every answer is a redirect elsewhere:\n%s", body)
				}
				if strings.Contains(body, tc.secret) {
					t.Fatal("the secret is in the scrape output")
				}
				h.clock.Advance(15 * time.Minute) // past any login backoff: keep trying
			}
			if n := leaked.Load(); n != 0 {
				t.Fatalf("the other host received %d requests; headers: %v", n, leakedHeaders.Load())
			}
			logs := h.logs.String()
			if !strings.Contains(logs, "refusing redirect") {
				t.Fatalf("the log does not say a redirect was refused:\n%s", logs)
			}
			if strings.Contains(logs, tc.secret) {
				t.Fatal("the secret reached the log")
			}
		})
	}
}

func writeSecret(t *testing.T, secret string) string {
	t.Helper()
	path := t.TempDir() + "/secret"
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEchoedCredentialsStayOutOfLogsAndMetrics: a proxy or error page that
// echoes the request, credentials included, must not get them into the
// exporter's log (which error messages quote the start of a body into) or
// its metrics.
func TestEchoedCredentialsStayOutOfLogsAndMetrics(t *testing.T) {
	const apiKey = "echo-test-api-key-0123456789abcdef"
	for _, tc := range []struct {
		name   string
		status int
	}{{"400 page", http.StatusBadRequest}, {"200 page", http.StatusOK}, {"500 page", http.StatusInternalServerError}} {
		for _, method := range []string{"password", "api_key"} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				h := newHarness(t, knownAlerts(), "")
				if method == "api_key" {
					h.fake.SetAPIKeys([]utmstacktest.APIKey{{Key: apiKey}})
					cfg, err := config.Parse([]byte(fmt.Sprintf("utmstack:\n  url: %s\n", h.upstream.URL)), "echo.yml",
						func(k string) (string, bool) { return apiKey, k == "UTMSTACK_API_KEY" })
					if err != nil {
						t.Fatal(err)
					}
					if err := h.exporter.Apply(cfg); err != nil {
						t.Fatal(err)
					}
				}
				h.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
					if !isDataCall(r) {
						return false
					}
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(tc.status)
					// The credentials first, where a quote of the body's start catches them.
					for _, name := range []string{"Authorization", "Utm-Api-Key", "Utm-Internal-Key"} {
						if v := r.Header.Get(name); v != "" {
							_, _ = fmt.Fprintf(w, "%s: %s\n", name, v)
						}
					}
					return true
				})
				_, body, _ := promScrape(t, h, "")
				logs := h.logs.String()
				if !strings.Contains(logs, "query failed") {
					t.Fatalf("no failure logged: the test proves nothing\n%s", logs)
				}
				for _, secret := range []string{"eyJ", apiKey, testPassword, apiKey[:20]} {
					if strings.Contains(logs, secret) {
						t.Errorf("the log holds %q:\n%s", secret, logs)
					}
					if strings.Contains(body, secret) {
						t.Errorf("the scrape holds %q", secret)
					}
				}
			})
		}
	}
}
