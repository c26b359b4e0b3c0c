package config

import (
	"github.com/utmstack/utmstack_exporter/utmstack"

	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTargets(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	writeFile(t, keyFile, "customer-b-key\n")
	cfg, err := parse(`utmstack: {url: https://main.example.com}
queries:
  - name: open
    by: [severity]
targets:
  customer-a:
    url: https://a.example.com:8443
    timeout: 20s
    min_interval: 30s
    auth: {username: exporter, password: inline-pass}
  customer-b:
    url: https://b.example.com
    auth: {api_key_file: `+keyFile+`}
    queries:
      - name: all
        window: 7d
`, withKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Targets) != 2 {
		t.Fatalf("targets: %+v", cfg.Targets)
	}
	a, b := cfg.Targets["customer-a"], cfg.Targets["customer-b"]
	if a.Name != "customer-a" || a.UTMStack.URL.String() != "https://a.example.com:8443" || a.UTMStack.Timeout != 20*time.Second ||
		a.UTMStack.MinInterval != 30*time.Second || a.UTMStack.MaxConcurrency != 4 || a.UTMStack.Auth.Method != utmstack.AuthPassword ||
		a.UTMStack.Auth.Secret.Reveal() != "inline-pass" {
		t.Errorf("customer-a: %+v", a)
	}
	if !reflect.DeepEqual(a.Queries, cfg.Queries) {
		t.Errorf("customer-a has no queries of its own, want the top-level ones: %+v", a.Queries)
	}
	if b.UTMStack.Auth.Method != utmstack.AuthAPIKey || b.UTMStack.Auth.Secret.Reveal() != "customer-b-key" {
		t.Errorf("customer-b auth: %+v", b.UTMStack.Auth)
	}
	if len(b.Queries) != 1 || b.Queries[0].Name != "all" || b.Queries[0].Window != 7*24*time.Hour {
		t.Errorf("customer-b queries: %+v", b.Queries)
	}
	if got := cfg.Summary(); got != "url=https://main.example.com auth=api_key(env UTMSTACK_API_KEY) queries=open targets=customer-a,customer-b" {
		t.Errorf("summary: %s", got)
	}
}

func TestTargetErrors(t *testing.T) {
	_, err := parse(`utmstack: {url: https://main.example.com}
targets:
  "bad name!":
    url: https://x.example.com
    auth: {api_key: k}
  nourl:
    auth: {api_key: k}
  noauth:
    url: https://y.example.com
  dup:
    url: https://z.example.com
    auth: {api_key: k}
    queries:
      - name: q
      - name: q
  empty:
    url: https://w.example.com
    auth: {api_key: k}
    queries: []
`, withKey)
	checkErr(t, err,
		`targets.bad name!: "bad name!" is not a valid target name; use letters, digits, _, . and - (at most 64, starting with a letter or digit)`,
		`targets.dup.queries[1].name: "q" is already used by targets.dup.queries[0]; names must be unique`,
		`targets.empty.queries: the list is empty; list at least one query, or remove the key to use the top-level queries`,
		// The environment does not serve targets: UTMSTACK_API_KEY is set here.
		`targets.noauth.auth: no authentication method; set username with password_file, or api_key_file, or internal_key_file (a target does not read the environment)`,
		`targets.nourl.url: required, e.g. https://utmstack.example.com`,
	)
}

func TestTargetUnknownKey(t *testing.T) {
	_, err := parse("utmstack: {url: https://h}\ntargets:\n  a:\n    url: https://a\n    user: x\n", withKey)
	want := `utmstack.yml: targets.a: unknown key "user"; accepted: url, timeout, max_concurrency, min_interval, auth, tls_config, proxy_url, queries (line 5)`
	if err == nil || strings.Split(err.Error(), "\n")[0] != want {
		t.Fatalf("err = %v\nwant first %s", err, want)
	}
}
