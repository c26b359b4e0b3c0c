//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// The real binary at --log.level=debug, taken through a good login, a
// refused one, reloads that work and reloads that fail, and --config.check,
// for each way in and each place a secret can come from. No secret and no
// JWT may show in anything it writes or serves.

// Every secret carries the marker, so a partial leak (a prefix, a
// truncated quote) is caught too. No path, URL or name in the tests has it.
const secretMarker = "SECRET-"

const (
	goodPassword    = "pw-SECRET-a1b2c3d4e5f6"
	wrongPassword   = "pw-WRONG-SECRET-z9y8x7w6"
	goodAPIKey      = "ak-SECRET-0f1e2d3c4b5a69788796"
	wrongAPIKey     = "ak-WRONG-SECRET-1122334455667788"
	goodInternalKey = "ik-SECRET-ffeeddccbbaa00998877"
	wrongInternal   = "ik-WRONG-SECRET-0102030405060708"
	// serverSidePassword is what the fake is switched to; the exporter
	// never knows it, so it must never show either.
	serverSidePassword = "pw-ROTATED-SECRET-5566778899"
)

// forbidden are the strings no output may contain: every secret (through
// its marker), and "eyJ", with which every JWT the fake issues begins
// (base64url of `{"`).
var forbidden = []string{secretMarker, "eyJ", goodPassword, wrongPassword, goodAPIKey, wrongAPIKey, goodInternalKey, wrongInternal}

type exposure struct {
	what string
	text string
}

// checkNoSecrets fails the test for every output holding a forbidden string.
func checkNoSecrets(t *testing.T, outputs []exposure) {
	t.Helper()
	for _, o := range outputs {
		for _, f := range forbidden {
			if i := strings.Index(o.text, f); i >= 0 {
				lo, hi := max(0, i-120), min(len(o.text), i+60)
				t.Errorf("%s contains %q: …%s…", o.what, f, o.text[lo:hi])
			}
		}
	}
}

func plainRequest(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// sample returns the value of one series in a scrape, -1 when absent.
func sample(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

type authWay struct {
	method string // password, api_key, internal_key
	source string // file, env
}

// authYAML is the auth block of the configuration file for way, with the
// secret in secretFile when the file is the source.
func (w authWay) authYAML(secretFile string) string {
	switch {
	case w.method == "password" && w.source == "file":
		return fmt.Sprintf("  auth:\n    username: %s\n    password_file: %s\n", upstreamUser, secretFile)
	case w.method == "password":
		return fmt.Sprintf("  auth:\n    username: %s\n", upstreamUser)
	case w.source == "file":
		return fmt.Sprintf("  auth:\n    %s_file: %s\n", w.method, secretFile)
	}
	return "" // the environment variable chooses the method
}

func (w authWay) secrets() (good, wrong string) {
	switch w.method {
	case "password":
		return goodPassword, wrongPassword
	case "api_key":
		return goodAPIKey, wrongAPIKey
	}
	return goodInternalKey, wrongInternal
}

func (w authWay) env(good string) []string {
	if w.source != "env" {
		return nil
	}
	return []string{map[string]string{
		"password": "UTMSTACK_PASSWORD", "api_key": "UTMSTACK_API_KEY", "internal_key": "UTMSTACK_INTERNAL_KEY",
	}[w.method] + "=" + good}
}

// configCheck runs --config.check and returns its combined output and
// exit code.
func configCheck(t *testing.T, bin, file string, env []string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config.check", "--config.file="+file, "--log.level=debug")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("--config.check: %v", err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func TestNoSecretInAnyOutput(t *testing.T) {
	bin := exporterBinary(t)
	for _, way := range []authWay{
		{"password", "file"}, {"password", "env"},
		{"api_key", "file"}, {"api_key", "env"},
		{"internal_key", "file"}, {"internal_key", "env"},
	} {
		t.Run(way.method+"_from_"+way.source, func(t *testing.T) {
			good, wrong := way.secrets()
			dir := t.TempDir()
			ctx := deadline(t, 90*time.Second)
			fake := utmstacktest.New(utmstacktest.Options{
				Users:       map[string]string{upstreamUser: goodPassword},
				APIKeys:     []utmstacktest.APIKey{{Key: goodAPIKey}},
				InternalKey: goodInternalKey,
				Alerts:      alerts(time.Now()),
			})
			upstream := httptest.NewServer(fake)
			t.Cleanup(upstream.Close)

			secretFile := writeFile(t, dir, "secret", good+"\n")
			env := way.env(good)
			goodConfig := fmt.Sprintf("utmstack:\n  url: %s\n%s", upstream.URL, way.authYAML(secretFile))
			configFile := writeFile(t, dir, "utmstack.yml", goodConfig)
			var outputs []exposure
			record := func(what, text string) { outputs = append(outputs, exposure{what, text}) }

			// --config.check: valid, invalid elsewhere, and invalid with
			// the secret written inline beside the mistake.
			out, code := configCheck(t, bin, configFile, env)
			if code != 0 || !strings.Contains(out, "OK") {
				t.Fatalf("--config.check of a valid file: exit %d\n%s", code, out)
			}
			record("--config.check (valid)", out)
			broken := writeFile(t, dir, "broken.yml", goodConfig+"queries:\n  - name: open\n    filters:\n      - {field: status, operator: EQUALS, value: 2}\n")
			out, code = configCheck(t, bin, broken, env)
			if code != 1 || !strings.Contains(out, "operator") {
				t.Fatalf("--config.check of an invalid file: exit %d\n%s", code, out)
			}
			record("--config.check (invalid)", out)
			inline := writeFile(t, dir, "inline.yml", fmt.Sprintf("utmstack:\n  url: %s\n  timeout: -1s\n  auth:\n    username: %s\n    %s: %s\n",
				upstream.URL, upstreamUser, way.method, good))
			out, code = configCheck(t, bin, inline, nil)
			if code != 1 || !strings.Contains(out, "utmstack.timeout") {
				t.Fatalf("--config.check of an invalid file with an inline secret: exit %d\n%s", code, out)
			}
			record("--config.check (invalid, inline secret)", out)

			p := start(t, bin, []string{"--config.file=" + configFile, "--web.listen-address=127.0.0.1:0", "--log.level=debug"}, env)
			base := "http://" + p.waitFor(ctx, t, regexp.MustCompile(`msg="Listening on" address=(127\.0\.0\.1:\d+)`))
			get := func(what, method, path string) (int, string) {
				code, body := plainRequest(t, method, base+path)
				record(what+": "+method+" "+path, body)
				return code, body
			}
			loaded := regexp.MustCompile(`msg="Configuration loaded"`)
			notLoaded := regexp.MustCompile(`msg="Configuration not loaded`)

			// A good login (or key) and data.
			if _, body := get("good credentials", http.MethodGet, "/metrics"); sample(body, "utmstack_up") != 1 {
				t.Fatalf("with the right secret utmstack_up is not 1:\n%s", body)
			}
			get("good credentials", http.MethodGet, "/")
			get("good credentials", http.MethodGet, "/-/ready")

			// Reloads that work: POST and SIGHUP.
			if code, body := get("reload", http.MethodPost, "/-/reload"); code != http.StatusOK {
				t.Fatalf("POST /-/reload: HTTP %d %s", code, body)
			}
			p.waitFor(ctx, t, loaded)
			get("reload", http.MethodGet, "/-/reload")
			if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			p.waitFor(ctx, t, loaded)

			// Credentials refused.
			if way.source == "file" {
				writeFile(t, dir, "secret", wrong+"\n") // re-read at reload: a new client
				if code, body := get("wrong secret", http.MethodPost, "/-/reload"); code != http.StatusOK {
					t.Fatalf("POST /-/reload with the wrong secret in the file: HTTP %d %s", code, body)
				}
				p.waitFor(ctx, t, loaded)
			} else {
				switch way.method {
				case "password":
					fake.SetPassword(upstreamUser, serverSidePassword)
					fake.Restart() // the token is refused, the re-login too
				case "api_key":
					fake.SetAPIKeys(nil)
				case "internal_key":
					// The fake's INTERNAL_KEY is fixed: answer as UTMStack does
					// for a key it does not know.
					fake.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
						if !strings.HasPrefix(r.URL.Path, "/api/elasticsearch/") {
							return false
						}
						fake.SpringError(w, r, http.StatusUnauthorized)
						return true
					})
				}
			}
			_, body := get("refused credentials", http.MethodGet, "/metrics")
			if sample(body, "utmstack_up") != 0 || sample(body, `utmstack_exporter_auth_failures_total{reason="bad_credentials"}`) < 1 {
				t.Fatalf("with refused credentials: want utmstack_up 0 and a bad_credentials failure:\n%s", body)
			}
			get("refused credentials", http.MethodGet, "/")

			// Reloads that fail, with the secret inline in the broken file.
			writeFile(t, dir, "utmstack.yml", fmt.Sprintf("utmstack:\n  url: %s\n  timeout: -1s\n  auth:\n    username: %s\n    %s: %s\n",
				upstream.URL, upstreamUser, way.method, good))
			if code, body := get("failing reload", http.MethodPost, "/-/reload"); code != http.StatusInternalServerError || !strings.Contains(body, "utmstack.timeout") {
				t.Fatalf("POST /-/reload of a broken file: HTTP %d, want 500 naming utmstack.timeout: %s", code, body)
			}
			p.waitFor(ctx, t, notLoaded)
			if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			p.waitFor(ctx, t, notLoaded)
			get("after the failing reload", http.MethodGet, "/metrics")
			get("after the failing reload", http.MethodGet, "/")

			log := p.log()
			// The scenario ran as intended: debug logging was on the login
			// path and the refusal was logged.
			if way.method == "password" && !strings.Contains(log, "UTMStack login succeeded") {
				t.Errorf("the debug log has no successful login:\n%s", log)
			}
			if !strings.Contains(log, "bad_credentials") && !strings.Contains(log, "rejected") {
				t.Errorf("the refusal is not in the log:\n%s", log)
			}
			record("the process's stdout and stderr", log)
			checkNoSecrets(t, outputs)
			t.Logf("%s from %s: %d outputs checked (%d bytes of log) for %d forbidden strings",
				way.method, way.source, len(outputs), len(log), len(forbidden))
		})
	}
}

// TestEveryEndpointNeedsTheScrapeCredentials extends
// TestExporterEndpointsHonourWebConfig: every path, /probe included, refuses
// a request without credentials or with the wrong password, and the TLS
// port does not speak plain HTTP.
func TestEveryEndpointNeedsTheScrapeCredentials(t *testing.T) {
	s := startStack(t)
	client := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.caPool}}}
	do := func(method, url, user, password string) (int, string) {
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	paths := []string{"/metrics", "/", "/-/healthy", "/-/ready", "/-/reload", "/probe?target=customer-a"}
	for _, path := range paths {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			for _, cred := range []struct{ user, password string }{{"", ""}, {scrapeUser, "not-the-password"}, {"nobody", scrapePassword}} {
				code, body := do(method, "https://"+s.exporter+path, cred.user, cred.password)
				if code != http.StatusUnauthorized {
					t.Errorf("%s %s as %q: HTTP %d, want 401", method, path, cred.user, code)
				}
				if strings.Contains(body, upstreamPassword) || strings.Contains(body, customerKey) || strings.Contains(body, "eyJ") {
					t.Errorf("%s %s as %q: the answer holds a secret", method, path, cred.user)
				}
			}
		}
	}
	// With the credentials, /probe works too.
	if code, body := do(http.MethodGet, "https://"+s.exporter+"/probe?target=customer-a", scrapeUser, scrapePassword); code != http.StatusOK || !strings.Contains(body, "utmstack_up 1") {
		t.Errorf("/probe with the credentials: HTTP %d\n%s", code, body)
	}
	// Plain HTTP to the TLS port gets no metrics.
	code, body := plainRequest(t, http.MethodGet, "http://"+s.exporter+"/metrics")
	if code == http.StatusOK || strings.Contains(body, "utmstack_up") {
		t.Errorf("plain HTTP to the TLS port: HTTP %d\n%s", code, body)
	}
	// A client that does not trust the certificate is refused at the handshake.
	untrusting := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if resp, err := untrusting.Get("https://" + s.exporter + "/metrics"); err == nil {
		_ = resp.Body.Close()
		t.Error("a client without the CA completed a TLS handshake with the exporter's certificate")
	}
}
