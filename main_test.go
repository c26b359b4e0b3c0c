package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/utmstack/utmstack_exporter/config"
)

// runMainEnv makes the test binary run the exporter's main, so that a
// test sees what a user sees, output and exit code, without a go build.
const runMainEnv = "UTMSTACK_EXPORTER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append([]string{exporterName}, strings.Fields(os.Getenv(runMainEnv+"_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The things a flag list cannot say are in --help: the endpoints, the
// environment variables for secrets, and what query="all" leaves out.
func TestHelpNamesEndpointsSecretsAndWhatIsCounted(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--help")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", runMainEnv+"_ARGS=--help")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	help := strings.Join(strings.Fields(string(out)), " ") // kingpin wraps lines
	for _, want := range []string{
		"/probe?target=<name>", "/-/reload",
		"UTMSTACK_PASSWORD", "UTMSTACK_API_KEY", "UTMSTACK_INTERNAL_KEY",
		`query="all" counts the alerts of the window (defaults.window, 24h unless set)`,
		`"False positive"`, "echoes", "utmstack_index_alerts",
		"config.check.live", // the flags are still listed
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}

// The landing page says what each query counts, how to reach the /probe
// targets, and where the secret came from, never the secret nor its file.
func TestLandingPageSaysWhatIsCountedAndWhereSecretsComeFrom(t *testing.T) {
	const secret = "landing-page-secret"
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "api-key-file")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"built-in queries, password from the environment",
			"utmstack:\n  url: https://utmstack.example.com\n  auth: {username: prometheus}\n",
			[]string{
				"auth: password, from the environment variable UTMSTACK_PASSWORD",
				`<code>query="all"</code>: All alerts`,
				`Counts the alerts of the last 1d, without those tagged &#34;False positive&#34; and echoes`,
				`<code>query="open"</code>: Open alerts`, "that pass its filters",
				"<code>utmstack_index_alerts</code> counts every alert",
				"<code>/probe?target=&lt;name&gt;</code>", "No target is configured.",
				"<code>UTMSTACK_PASSWORD</code>", "<code>UTMSTACK_API_KEY</code>", "<code>UTMSTACK_INTERNAL_KEY</code>",
			}},
		{"a query of all time without exclusions, a key file, a target",
			"utmstack:\n  url: https://utmstack.example.com\n  auth: {api_key_file: " + secretFile + "}\n" +
				"queries: [{name: everything, window: 0, exclude_false_positives: false, exclude_echoes: false}]\n" +
				"targets:\n  customer-a: {url: https://a.example.com, auth: {api_key_file: " + secretFile + "}}\n",
			[]string{
				"auth: api_key, from its api_key_file",
				`<code>query="everything"</code>: Counts the alerts of all time.</li>`,
				`<a href="/probe?target=customer-a">customer-a</a>: https://a.example.com`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.yaml), "landing.yml", func(k string) (string, bool) {
				return secret, k == "UTMSTACK_PASSWORD"
			})
			if err != nil {
				t.Fatal(err)
			}
			page, err := web.NewLandingPage(landingConfig("/metrics", cfg))
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			body := rec.Body.String()
			if rec.Code != http.StatusOK {
				t.Fatalf("HTTP %d", rec.Code)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("the landing page lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, secret) || strings.Contains(body, secretFile) {
				t.Errorf("the landing page shows the secret or its file:\n%s", body)
			}
		})
	}
}
