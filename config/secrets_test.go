package config

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

func TestAuthSources(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	writeFile(t, pwFile, "from-file-pw\r\n \n")
	keyFile := filepath.Join(dir, "key")
	writeFile(t, keyFile, "from-file-key\n")

	const url = "utmstack:\n  url: https://h\n  auth:\n"
	cases := []struct {
		name   string
		auth   string
		getenv func(string) (string, bool)
		want   Auth
	}{
		{"password_file", "    username: prometheus\n    password_file: " + pwFile + "\n", nil,
			Auth{utmstack.AuthPassword, "prometheus", "from-file-pw", "password_file " + pwFile}},
		{"inline password", "    username: prometheus\n    password: inline-pw\n", nil,
			Auth{utmstack.AuthPassword, "prometheus", "inline-pw", "inline password"}},
		{"password from env", "    username: prometheus\n", env(EnvPassword, "env-pw"),
			Auth{utmstack.AuthPassword, "prometheus", "env-pw", "env " + EnvPassword}},
		{"api_key_file", "    api_key_file: " + keyFile + "\n", nil,
			Auth{utmstack.AuthAPIKey, "", "from-file-key", "api_key_file " + keyFile}},
		{"inline api_key", "    api_key: inline-key\n", nil,
			Auth{utmstack.AuthAPIKey, "", "inline-key", "inline api_key"}},
		{"api key from env", "", env(EnvAPIKey, "env-key"),
			Auth{utmstack.AuthAPIKey, "", "env-key", "env " + EnvAPIKey}},
		{"internal_key_file", "    internal_key_file: " + keyFile + "\n", nil,
			Auth{utmstack.AuthInternalKey, "", "from-file-key", "internal_key_file " + keyFile}},
		{"inline internal_key", "    internal_key: inline-internal\n", nil,
			Auth{utmstack.AuthInternalKey, "", "inline-internal", "inline internal_key"}},
		{"internal key from env", "", env(EnvInternalKey, "env-internal"),
			Auth{utmstack.AuthInternalKey, "", "env-internal", "env " + EnvInternalKey}},

		// The file wins over the environment.
		{"file over env", "    username: prometheus\n    password_file: " + pwFile + "\n", env(EnvPassword, "env-pw"),
			Auth{utmstack.AuthPassword, "prometheus", "from-file-pw", "password_file " + pwFile}},
		{"inline over env", "    api_key: inline-key\n", env(EnvAPIKey, "env-key"),
			Auth{utmstack.AuthAPIKey, "", "inline-key", "inline api_key"}},
		// The method named in the file wins over other methods' env vars.
		{"file method over env method", "    username: prometheus\n", env(EnvPassword, "env-pw", EnvAPIKey, "env-key", EnvInternalKey, "env-internal"),
			Auth{utmstack.AuthPassword, "prometheus", "env-pw", "env " + EnvPassword}},
		{"env key with password env", "", env(EnvPassword, "env-pw", EnvAPIKey, "env-key"),
			Auth{utmstack.AuthAPIKey, "", "env-key", "env " + EnvAPIKey}},
		// An empty variable counts as unset.
		{"empty env ignored", "", env(EnvAPIKey, "", EnvInternalKey, "env-internal"),
			Auth{utmstack.AuthInternalKey, "", "env-internal", "env " + EnvInternalKey}},
		// Empty keys in the file count as unset, like proxy_url: "".
		{"empty keys unset", "    username: ''\n    password_file: ''\n    api_key: env-chosen\n", nil,
			Auth{utmstack.AuthAPIKey, "", "env-chosen", "inline api_key"}},
		{"password length limits", "    username: " + strings.Repeat("u", 50) + "\n    password: " + strings.Repeat("p", 100) + "\n", nil,
			Auth{utmstack.AuthPassword, strings.Repeat("u", 50), utmstack.Secret(strings.Repeat("p", 100)), "inline password"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yaml := url
			if tc.auth == "" {
				yaml = "utmstack:\n  url: https://h\n"
			} else {
				yaml += tc.auth
			}
			cfg, err := parse(yaml, tc.getenv)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.UTMStack.Auth
			if got.Method != tc.want.Method || got.Username != tc.want.Username ||
				got.Secret.Reveal() != tc.want.Secret.Reveal() || got.Source != tc.want.Source {
				t.Errorf("auth = {%s %q %q %q}, want {%s %q %q %q}",
					got.Method, got.Username, got.Secret.Reveal(), got.Source,
					tc.want.Method, tc.want.Username, tc.want.Secret.Reveal(), tc.want.Source)
			}
			if inline := strings.HasPrefix(tc.want.Source, "inline "); got.IsInline() != inline {
				t.Errorf("IsInline() = %v, want %v", got.IsInline(), inline)
			}
		})
	}
}

// Secrets are read at load time, so a reload picks up a rotated file.
func TestSecretFileReadOnEveryLoad(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "password")
	yaml := "utmstack:\n  url: https://h\n  auth: {username: u, password_file: " + pw + "}\n"
	for _, v := range []string{"first-password", "second-password"} {
		writeFile(t, pw, v+"\n")
		cfg, err := parse(yaml, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.UTMStack.Auth.Secret.Reveal(); got != v {
			t.Errorf("secret %q, want %q", got, v)
		}
	}
}

// The three ways to give each secret, as a failure to read one lists them.
const (
	waysPassword    = "give the password one of three ways: password_file (a file holding it; recommended), password (inline in this file) or the environment variable UTMSTACK_PASSWORD (when the file sets neither)"
	waysAPIKey      = "give the API key one of three ways: api_key_file (a file holding it; recommended), api_key (inline in this file) or the environment variable UTMSTACK_API_KEY (when the file sets neither)"
	waysInternalKey = "give the internal key one of three ways: internal_key_file (a file holding it; recommended), internal_key (inline in this file) or the environment variable UTMSTACK_INTERNAL_KEY (when the file sets neither)"
)

func TestAuthRules(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	writeFile(t, short, "abc\n")
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, " \n\n")
	missing := filepath.Join(dir, "missing")
	twoLines := filepath.Join(dir, "two_lines")
	writeFile(t, twoLines, "key-one\nkey-two\n")

	const url = "utmstack:\n  url: https://h\n  auth:\n"
	cases := []struct {
		name   string
		auth   string
		getenv func(string) (string, bool)
		want   []string
	}{
		{"no method", "    {}\n", nil,
			[]string{`utmstack.auth: no authentication method; set username with password_file, or api_key_file, or internal_key_file (or the environment variable UTMSTACK_API_KEY or UTMSTACK_INTERNAL_KEY)`}},
		{"more than one method", "    username: u\n    password_file: /p\n    api_key_file: /k\n    internal_key: x\n", nil,
			[]string{`utmstack.auth: more than one authentication method is set: password (username, password_file), api_key (api_key_file), internal_key (internal_key); keep exactly one`}},
		{"both key env vars", "    {}\n", env(EnvAPIKey, "a", EnvInternalKey, "b"),
			[]string{`utmstack.auth: the file names no method and both UTMSTACK_API_KEY and UTMSTACK_INTERNAL_KEY are set; unset one, or choose the method in the file`}},
		{"password env without username", "    {}\n", env(EnvPassword, "env-pw"),
			[]string{`utmstack.auth.username: required: UTMSTACK_PASSWORD is set, but password authentication also needs a username in the file`}},
		{"password without username", "    password_file: /p\n", nil,
			[]string{
				`utmstack.auth.username: required for password authentication`,
				`utmstack.auth.password_file: cannot read the password: open /p: no such file or directory; ` + waysPassword,
			}},
		{"username without password", "    username: prometheus\n", nil,
			[]string{`utmstack.auth: no password: set password_file (recommended), password, or the environment variable UTMSTACK_PASSWORD`}},
		{"username too long", "    username: " + strings.Repeat("u", 51) + "\n    password: good-password\n", nil,
			[]string{`utmstack.auth.username: "` + strings.Repeat("u", 51) + `" has 51 characters; UTMStack accepts 1 to 50`}},
		{"password too short in file", "    username: u\n    password_file: " + short + "\n", nil,
			[]string{`utmstack.auth.password_file: the password from password_file ` + short + ` has 3 characters; UTMStack accepts 4 to 100`}},
		{"password too long inline", "    username: u\n    password: " + strings.Repeat("p", 101) + "\n", nil,
			[]string{`utmstack.auth.password: the password from inline password has 101 characters; UTMStack accepts 4 to 100`}},
		{"password too short in env", "    username: u\n", env(EnvPassword, "abc"),
			[]string{`utmstack.auth.password: the password from env UTMSTACK_PASSWORD has 3 characters; UTMStack accepts 4 to 100`}},
		{"secret file missing", "    api_key_file: " + missing + "\n", nil,
			[]string{`utmstack.auth.api_key_file: cannot read the API key: open ` + missing + `: no such file or directory; ` + waysAPIKey}},
		{"secret file is a directory", "    internal_key_file: " + dir + "\n", nil,
			[]string{`utmstack.auth.internal_key_file: cannot read the internal key: ` + dir + ` is a directory, not a regular file; ` + waysInternalKey}},
		{"secret file empty", "    username: u\n    password_file: " + empty + "\n", nil,
			[]string{`utmstack.auth.password_file: "` + empty + `" is empty; ` + waysPassword}},
		{"file and inline", "    api_key_file: /k\n    api_key: x\n", nil,
			[]string{`utmstack.auth: both api_key_file and api_key are set; keep one (api_key_file is recommended)`}},
		{"key with two lines", "    api_key_file: " + twoLines + "\n", nil,
			[]string{`utmstack.auth.api_key_file: the API key from api_key_file ` + twoLines + ` contains whitespace or control characters; it must be a single token`}},
		{"key from env with space", "    {}\n", env(EnvInternalKey, "a b"),
			[]string{`utmstack.auth.internal_key: the internal key from env UTMSTACK_INTERNAL_KEY contains whitespace or control characters; it must be a single token`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(url+tc.auth, tc.getenv)
			checkErr(t, err, tc.want...)
		})
	}
}

// No secret value may reach an error message, the summary or a printed
// Config, whichever way it was supplied.
func TestSecretsNeverLeak(t *testing.T) {
	const canary = "Canary-7f3a9c-SECRET"
	dir := t.TempDir()
	longFile := filepath.Join(dir, "long")
	writeFile(t, longFile, strings.Repeat(canary, 6)+"\n") // > 100 characters
	spaced := filepath.Join(dir, "spaced")
	writeFile(t, spaced, canary+" "+canary+"\n")
	good := filepath.Join(dir, "good")
	writeFile(t, good, canary+"\n")

	failing := []struct {
		name   string
		yaml   string
		getenv func(string) (string, bool)
	}{
		{"long password file", "utmstack: {url: https://h, auth: {username: u, password_file: " + longFile + "}}\n", nil},
		{"long inline password", "utmstack: {url: https://h, auth: {username: u, password: " + strings.Repeat(canary, 6) + "}}\n", nil},
		{"long env password", "utmstack: {url: https://h, auth: {username: u}}\n", env(EnvPassword, strings.Repeat(canary, 6))},
		{"key with space", "utmstack: {url: https://h, auth: {api_key_file: " + spaced + "}}\n", nil},
		{"env key with space", "utmstack: {url: https://h}\n", env(EnvAPIKey, canary+" x")},
		{"file and inline", "utmstack: {url: https://h, auth: {api_key_file: " + good + ", api_key: " + canary + "}}\n", nil},
		{"two methods", "utmstack: {url: https://h, auth: {api_key: " + canary + ", internal_key: " + canary + "}}\n", nil},
		{"env password without username", "utmstack: {url: https://h}\n", env(EnvPassword, canary)},
		{"both env keys", "utmstack: {url: https://h}\n", env(EnvAPIKey, canary, EnvInternalKey, canary)},
		{"url user info", "utmstack: {url: 'https://u:" + canary + "@h', auth: {api_key: x}}\n", nil},
		{"url user info unparsable", "utmstack: {url: 'https://u:" + canary + "@h/%zz', auth: {api_key: x}}\n", nil},
		{"url token as user", "utmstack: {url: 'https://" + canary + "@h', auth: {api_key: x}}\n", nil},
		{"proxy credentials", "utmstack: {url: https://h, proxy_url: 'ftp://u:" + canary + "@p', auth: {api_key: x}}\n", nil},
		{"other errors with a good secret", "utmstack: {url: 'ftp://h', timeout: 0s, auth: {username: u, password: " + canary + "}}\n", env(EnvAPIKey, canary)},
	}
	for _, tc := range failing {
		_, err := parse(tc.yaml, tc.getenv)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("%s: the secret leaked into the error: %v", tc.name, err)
		}
	}

	working := []struct {
		name   string
		yaml   string
		getenv func(string) (string, bool)
	}{
		{"password file", "utmstack: {url: https://h, auth: {username: u, password_file: " + good + "}}\n", nil},
		{"inline", "utmstack: {url: https://h, auth: {internal_key: " + canary + "}}\n", nil},
		{"env", "utmstack: {url: https://h}\n", env(EnvAPIKey, canary)},
	}
	for _, tc := range working {
		cfg, err := parse(tc.yaml, tc.getenv)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		for _, s := range []string{cfg.Summary(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", *cfg), fmt.Sprintf("%#v", cfg.UTMStack.Auth)} {
			if strings.Contains(s, canary) {
				t.Errorf("%s: the secret leaked: %s", tc.name, s)
			}
		}
	}

	// Proxy credentials are allowed (proxy authentication needs them in the
	// URL); the summary and messages redact them. The *url.URL itself would
	// print them, so callers must log Summary(), never the Config.
	cfg, err := parse("utmstack: {url: https://h, proxy_url: 'http://u:"+canary+"@p', auth: {api_key: x}}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Summary(); strings.Contains(s, canary) {
		t.Errorf("the proxy password leaked into the summary: %s", s)
	}
}

// A password may end in a blank; only the file's line ending is dropped.
func TestPasswordFileKeepsTrailingBlanks(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "password")
	writeFile(t, pw, "ends with a space \r\n")
	cfg, err := parse("utmstack:\n  url: https://h\n  auth:\n    username: u\n    password_file: "+pw+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.UTMStack.Auth.Secret.Reveal(); got != "ends with a space " {
		t.Fatalf("password %q, want the trailing space kept and the line ending dropped", got)
	}
}

// When the environment holds a secret the file's choice leaves unused, a
// notice says which one is used and why, without any secret's value.
func TestNoticesSayWhichSecretIsUsed(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "password")
	writeFile(t, pwFile, "file-SECRET-pw\n")
	const url = "utmstack:\n  url: https://h\n"
	allEnv := env(EnvPassword, "env-SECRET-pw", EnvAPIKey, "env-SECRET-key", EnvInternalKey, "env-SECRET-internal")
	for _, tc := range []struct {
		name   string
		auth   string
		getenv func(string) (string, bool)
		want   []string
	}{
		{"file beats its own variable", "  auth: {username: u, password_file: " + pwFile + "}\n", env(EnvPassword, "env-SECRET-pw"),
			[]string{"utmstack.auth: the environment variable UTMSTACK_PASSWORD is set and not used: the password comes from password_file " + pwFile +
				" (password_file and password in the file win over UTMSTACK_PASSWORD)"}},
		{"inline beats its own variable", "  auth: {api_key: inline-SECRET-key}\n", env(EnvAPIKey, "env-SECRET-key"),
			[]string{"utmstack.auth: the environment variable UTMSTACK_API_KEY is set and not used: the API key comes from inline api_key" +
				" (api_key_file and api_key in the file win over UTMSTACK_API_KEY)"}},
		{"the file's method beats other variables", "  auth: {username: u, password_file: " + pwFile + "}\n", allEnv,
			[]string{
				"utmstack.auth: the environment variable UTMSTACK_PASSWORD is set and not used: the password comes from password_file " + pwFile +
					" (password_file and password in the file win over UTMSTACK_PASSWORD)",
				"utmstack.auth: the environment variable UTMSTACK_API_KEY is set and not used: the password comes from password_file " + pwFile +
					" (the file chooses password authentication)",
				"utmstack.auth: the environment variable UTMSTACK_INTERNAL_KEY is set and not used: the password comes from password_file " + pwFile +
					" (the file chooses password authentication)",
			}},
		{"an API key variable beats a password variable", "", env(EnvPassword, "env-SECRET-pw", EnvAPIKey, "env-SECRET-key"),
			[]string{"utmstack.auth: the environment variable UTMSTACK_PASSWORD is set and not used: the API key comes from env UTMSTACK_API_KEY" +
				" (password authentication also needs a username in the file)"}},
		{"the variable used is no notice", "  auth: {username: u}\n", env(EnvPassword, "env-SECRET-pw"), nil},
		{"an empty variable is unset", "  auth: {username: u, password_file: " + pwFile + "}\n", env(EnvPassword, ""), nil},
		{"no environment", "  auth: {username: u, password_file: " + pwFile + "}\n", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(url+tc.auth, tc.getenv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Notices, tc.want) {
				t.Errorf("notices:\n%s\nwant:\n%s", strings.Join(cfg.Notices, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, n := range cfg.Notices {
				if strings.Contains(n, "SECRET") {
					t.Errorf("notice shows a secret: %s", n)
				}
			}
		})
	}
}

// Targets read no environment: their messages do not offer it, and the
// environment raises no notice about them.
func TestTargetSecretsIgnoreTheEnvironment(t *testing.T) {
	yaml := "utmstack:\n  url: https://h\n  auth: {api_key: top-key}\n" +
		"targets:\n  east:\n    url: https://east\n    auth: {username: u, password_file: /nonexistent/password}\n"
	_, err := parse(yaml, env(EnvPassword, "env-SECRET-pw"))
	checkErr(t, err, `targets.east.auth.password_file: cannot read the password: open /nonexistent/password: no such file or directory; `+
		`give the password one of two ways: password_file (a file holding it; recommended) or password (inline in this file); a target does not read the environment`)
	_, err = parse(strings.Replace(yaml, "password_file: /nonexistent/password", "password: ''", 1), env(EnvPassword, "env-SECRET-pw"))
	checkErr(t, err, `targets.east.auth: no password: set password_file (recommended) or password (a target does not read the environment)`)
}
