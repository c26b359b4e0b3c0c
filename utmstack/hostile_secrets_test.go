package utmstack_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	commoncfg "github.com/prometheus/common/config"

	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// echoedForms are the forms of secret the client itself produces, as an
// echoing server would quote them.
func echoedForms(secret string) []string {
	q, _ := json.Marshal(secret)
	return []string{secret, string(q[1 : len(q)-1]), url.QueryEscape(secret), url.PathEscape(secret)}
}

func wantNoneOf(t *testing.T, where, text string, forms []string) {
	t.Helper()
	for _, f := range forms {
		if strings.Contains(text, f) {
			t.Errorf("%s quotes a secret (%q):\n%s", where, f, text)
		}
	}
}

// TestEchoedLoginBodyIsScrubbed: a password with <, > and & is
// JSON-escaped in the login body (\u003c...). A proxy or upstream that
// echoes the body in X-UtmStack-error must not carry it into the error or
// the log, in any form.
func TestEchoedLoginBodyIsScrubbed(t *testing.T) {
	const secret = `s3cr<et>&pa55 "word"`
	f := newFixture(t, utmstacktest.Options{})
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/authenticate" {
			return false
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-UtmStack-error", "cannot handle "+string(body)+" query="+url.QueryEscape(secret))
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	var logs strings.Builder
	c := f.clientWith(t, utmstack.Credentials{Method: utmstack.AuthPassword, Username: testUser, Secret: secret},
		func(o *utmstack.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	_, err := c.ValuesWithCount(context.Background(), byStatus)
	if err == nil || !strings.Contains(err.Error(), "cannot handle") {
		t.Fatalf("err = %v, want the echoing answer quoted", err)
	}
	wantNoneOf(t, "the error", err.Error(), echoedForms(secret))
	wantNoneOf(t, "the log", logs.String(), echoedForms(secret))
}

// TestEchoedProxyCredentialsAreScrubbed: the proxy's user info from
// proxy_url becomes a Proxy-Authorization Basic header. A proxy that
// echoes the request headers must not carry it (base64 or plain) into the
// error.
func TestEchoedProxyCredentialsAreScrubbed(t *testing.T) {
	const proxyUser, proxyPassword = "squid-user", "pr0xy&pa55"
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var lines []string
		for k, vs := range r.Header {
			lines = append(lines, k+": "+strings.Join(vs, ","))
		}
		sort.Strings(lines)
		w.Header().Set("X-UtmStack-error", "echo "+strings.Join(lines, "; "))
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(proxy.Close)
	f := newFixture(t, utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey}}})
	proxyURL, _ := url.Parse(proxy.URL)
	proxyURL.User = url.UserPassword(proxyUser, proxyPassword)
	c := f.clientWith(t, utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey}, func(o *utmstack.Options) {
		o.HTTP.ProxyURL = commoncfg.URL{URL: proxyURL}
	})
	_, err := c.ValuesWithCount(context.Background(), byStatus)
	if err == nil || !strings.Contains(err.Error(), "Proxy-Authorization: Basic") {
		t.Fatalf("err = %v, want the echoed headers quoted", err)
	}
	forms := append(echoedForms(proxyPassword), base64.StdEncoding.EncodeToString([]byte(proxyUser+":"+proxyPassword)), testAPIKey)
	wantNoneOf(t, "the error", err.Error(), forms)
}

// TestHugeUTMStackErrorIsCut: a megabyte of X-UtmStack-error is quoted
// as its first few hundred bytes, marked as cut.
func TestHugeUTMStackErrorIsCut(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey}}})
	huge := strings.Repeat("x", 1<<20)
	f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != valuesPath {
			return false
		}
		w.Header().Set("X-UtmStack-error", huge)
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	c := f.client(t, utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey})
	_, err := c.ValuesWithCount(context.Background(), byStatus)
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "(cut, 1048576 bytes in all)") {
		t.Fatalf("err is %d bytes, want under 1000 and marked as cut", len(err.Error()))
	}
}

// TestEchoedSecretInASearchAnswerIsScrubbed: a search answered 200 with a
// body that echoes the credential, where the documents or their
// @timestamp should be, is quoted without it.
func TestEchoedSecretInASearchAnswerIsScrubbed(t *testing.T) {
	for name, body := range map[string]string{
		"not an array":     `{"echo": "` + testAPIKey + `"}`,
		"as the timestamp": `[{"@timestamp": "` + testAPIKey + `"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey}}})
			f.fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/api/elasticsearch/search" {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, body)
				return true
			})
			c := f.client(t, utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey})
			_, _, err := c.AlertTime(context.Background(), "v11-alert-*", nil, true)
			if err == nil || !strings.Contains(err.Error(), "<secret>") {
				t.Fatalf("err = %v, want the answer quoted with the key redacted", err)
			}
			wantNoneOf(t, "the error", err.Error(), echoedForms(testAPIKey)[:1])
		})
	}
}
