package livecheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/tools/demo/living"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	testUser     = "prometheus"
	testPassword = "s3cret-exporter-password"
)

// liveCheck runs the live check of yamlBody (appended after the url line of
// the fake) and returns its verdict and output.
func liveCheck(t *testing.T, url, yamlBody string) (bool, string) {
	t.Helper()
	cfg, err := config.Parse([]byte("utmstack:\n  url: "+url+"\n"+yamlBody), "live.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ok := Run(context.Background(), cfg, &out, "test")
	if strings.Contains(out.String(), testPassword) || strings.Contains(out.String(), "live-api-key") {
		t.Fatalf("the live check printed a secret:\n%s", out.String())
	}
	return ok, out.String()
}

func liveFake(t *testing.T, alerts []utmstacktest.Alert) (*utmstacktest.Server, string) {
	t.Helper()
	fake := utmstacktest.New(utmstacktest.Options{Users: map[string]string{testUser: testPassword},
		APIKeys: []utmstacktest.APIKey{{Key: "live-api-key", User: testUser, ExpiresAt: time.Now().Add(72 * time.Hour)}}, Alerts: alerts})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

const livePassword = "  auth: {username: prometheus, password: " + testPassword + "}\n"

func TestLiveCheckReportsWhatUTMStackAnswered(t *testing.T) {
	fake, url := liveFake(t, living.Alerts(time.Now(), 300, 1))
	ok, out := liveCheck(t, url, livePassword)
	for _, want := range []string{"password of user prometheus: accepted", "version       v11.0.1-community", "index         v11-alert-* holds 300 alerts",
		"query all", "severity: ", "rule: ", "newest 20", "query open", "oldest 20", "incidents     open 0", "no problem found"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if !ok {
		t.Fatalf("a healthy UTMStack failed the check:\n%s", out)
	}
	if n := fake.Requests(http.MethodPost, "/api/authenticate"); n != 1 {
		t.Fatalf("%d logins, want 1", n)
	}
	ok, out = liveCheck(t, url, "  auth: {api_key: live-api-key}\n")
	if !ok || !strings.Contains(out, "the owner's keys: key-1 expires 20") {
		t.Fatalf("an API key's expiry is not reported:\n%s", out)
	}
}

func TestLiveCheckFindsWrongPatternsFieldsAndEchoes(t *testing.T) {
	// v11 alerts written before v11.0.x: parentId "" on every one.
	alerts := living.Alerts(time.Now(), 200, 1)
	for _, a := range alerts {
		a["parentId"] = ""
	}
	_, url := liveFake(t, alerts)
	ok, out := liveCheck(t, url, livePassword+`defaults:
  fields: {country: source.countryCode.keyword}
targets:
  v10:
    url: `+url+`
    auth: {username: prometheus, password: `+testPassword+`}
    queries: [{name: all, index_pattern: alert-*, exclude_echoes: false}]
`)
	if ok {
		t.Fatalf("the check passed:\n%s", out)
	}
	for _, want := range []string{
		"query all: every alert of v11-alert-* carries parentId, so exclude_echoes (parentId DOES_NOT_EXIST) leaves none",
		"fix: set exclude_echoes: false",
		"PROBLEM: index pattern alert-* holds no alert at all",
		"fix: set index_pattern: UTMStack v11 uses v11-alert-*, v10 alert-*",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}

	// With the echo filter off, the v10 country field has no value.
	ok, out = liveCheck(t, url, livePassword+"defaults:\n  exclude_echoes: false\n  fields: {country: source.countryCode.keyword}\n")
	if want := "the country breakdown's field source.countryCode.keyword has no value on any of its"; ok || !strings.Contains(out, want) ||
		!strings.Contains(out, "fix: set fields.country: UTMStack v11 uses adversary.geolocation.countryCode.keyword") {
		t.Fatalf("want %q with its fix:\n%s", want, out)
	}
}

func TestLiveCheckNamesCredentialAndConnectionProblems(t *testing.T) {
	fake, url := liveFake(t, nil)
	for _, tc := range []struct{ name, url, yaml, want, fix string }{
		{"wrong password", url, "  auth: {username: prometheus, password: not-it}\n", "UTMStack refused the credentials", "check utmstack.auth"},
		{"unreachable", "http://127.0.0.1:1", livePassword, "unreachable", "check utmstack.url"},
		{"v12", "", livePassword, "runs the v12 API (/api/v1)", "point the exporter at a v10 or v11 UTMStack; see docs/utmstack-v12.md"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.url == "" {
				v12 := httptest.NewServer(utmstacktest.NewV12())
				t.Cleanup(v12.Close)
				tc.url = v12.URL
			}
			before := fake.Requests(http.MethodPost, "/api/authenticate")
			ok, out := liveCheck(t, tc.url, tc.yaml)
			if ok || !strings.Contains(out, "PROBLEM: ") || !strings.Contains(out, tc.want) || !strings.Contains(out, "fix: "+tc.fix) {
				t.Fatalf("want %q and the fix %q:\n%s", tc.want, tc.fix, out)
			}
			if n := fake.Requests(http.MethodPost, "/api/authenticate") - before; n > 1 {
				t.Fatalf("%d logins in one check", n)
			}
		})
	}
	if n := len(fake.LoginAttempts()); n != 1 {
		t.Fatalf("%d login attempts for one check with a wrong password", n)
	}
}

func TestLiveCheckNamesTFAAndLockOut(t *testing.T) {
	tfa := httptest.NewServer(utmstacktest.New(utmstacktest.Options{Edition: utmstacktest.EditionLegacy, TFA: utmstacktest.TFAAlways,
		Users: map[string]string{testUser: testPassword}}))
	t.Cleanup(tfa.Close)
	if ok, out := liveCheck(t, tfa.URL, livePassword); ok || !strings.Contains(out, "PROBLEM: the login needs a second factor") ||
		!strings.Contains(out, "fix: give the exporter a user without a second factor") {
		t.Fatalf("a login that needs TFA:\n%s", out)
	}
	fake, url := liveFake(t, nil)
	for range 10 { // someone else's failed logins from this IP
		if ok, _ := liveCheck(t, url, "  auth: {username: prometheus, password: not-it}\n"); ok {
			t.Fatal("a wrong password passed")
		}
	}
	before := len(fake.LoginAttempts())
	ok, out := liveCheck(t, url, livePassword)
	if ok || !strings.Contains(out, "UTMStack blocks this IP after too many failed logins") || !strings.Contains(out, "fix: wait 10 minutes") {
		t.Fatalf("a locked-out IP:\n%s", out)
	}
	if n := len(fake.LoginAttempts()) - before; n != 1 {
		t.Fatalf("%d logins while locked out, want the one", n)
	}
}

func TestLiveCheckNamesTheCASetting(t *testing.T) {
	fake := utmstacktest.New(utmstacktest.Options{Users: map[string]string{testUser: testPassword}})
	srv := httptest.NewUnstartedServer(fake)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ok, out := liveCheck(t, srv.URL, livePassword+fmt.Sprintf("targets:\n  customer:\n    url: %s\n    auth: {api_key: live-api-key}\n", srv.URL))
	for _, want := range []string{"TLS: UTMStack's certificate is signed by an unknown authority", "fix: set utmstack.tls_config.ca_file",
		"fix: set targets.customer.tls_config.ca_file"} {
		if ok || !strings.Contains(out, want) {
			t.Fatalf("want %q:\n%s", want, out)
		}
	}
	if n := fake.TotalRequests(); n != 0 {
		t.Fatalf("%d requests reached UTMStack over an unverified connection", n)
	}
}
