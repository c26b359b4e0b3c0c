package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

func TestLoadMinimal(t *testing.T) {
	cfg, err := Load("testdata/minimal.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.UTMStack.Auth
	if a.Method != utmstack.AuthPassword || a.Username != "prometheus" || a.Secret.Reveal() != "testdata-password" || a.Source != "password_file testdata/password" {
		t.Errorf("auth %+v", a)
	}
	want := "url=https://utmstack.example.com auth=password(user prometheus, password_file testdata/password) queries=all,open"
	if got := cfg.Summary(); got != want {
		t.Errorf("summary %q\nwant    %q", got, want)
	}
}

func TestLoadAPIKeyFile(t *testing.T) {
	cfg, err := Load("testdata/api_key.yml", env(EnvAPIKey, "ignored"))
	if err != nil {
		t.Fatal(err)
	}
	// Trailing spaces and newlines of the file are not part of the key.
	if got := cfg.UTMStack.Auth.Secret.Reveal(); got != "testdata-api-key" {
		t.Errorf("secret %q", got)
	}
	want := "url=http://10.0.0.5:8080 auth=api_key(api_key_file testdata/api_key) queries=all,open"
	if got := cfg.Summary(); got != want {
		t.Errorf("summary %q\nwant    %q", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nope.yml", nil)
	if want := "reading configuration file: open testdata/nope.yml: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

func TestSummary(t *testing.T) {
	cfg, err := parse(`utmstack:
  url: https://h:443/
  proxy_url: http://user:pw@proxy:3128
queries:
  - name: open
  - name: all
`, env(EnvInternalKey, "k"))
	if err != nil {
		t.Fatal(err)
	}
	want := "url=https://h:443 auth=internal_key(env UTMSTACK_INTERNAL_KEY) proxy=http://xxxxx@proxy:3128 queries=open,all"
	if got := cfg.Summary(); got != want {
		t.Errorf("summary %q\nwant    %q", got, want)
	}
}

// The shipped example must stay valid. Its password_file points at
// /etc/utmstack_exporter/password, which tests cannot rely on, so that one
// line is pointed at a temporary file; everything else is loaded as written.
func TestExampleFile(t *testing.T) {
	data, err := os.ReadFile("../examples/utmstack.yml")
	if err != nil {
		t.Fatal(err)
	}
	const line = "password_file: /etc/utmstack_exporter/password"
	if n := strings.Count(string(data), line); n != 1 {
		t.Fatalf("the example has %d lines %q, want 1", n, line)
	}
	pw := filepath.Join(t.TempDir(), "password")
	writeFile(t, pw, "example-password\n")
	data = []byte(strings.Replace(string(data), line, "password_file: "+pw, 1))

	cfg, err := Parse(data, "examples/utmstack.yml", env(EnvAPIKey, "ignored: the file chooses the password"))
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.UTMStack.Auth; a.Method != utmstack.AuthPassword || a.Username != "prometheus" || a.Secret.Reveal() != "example-password" {
		t.Errorf("auth %+v", a)
	}
	if got, want := cfg.UTMStack.URL.String(), "https://utmstack.example.com"; got != want {
		t.Errorf("url %q, want %q", got, want)
	}
	if b := cfg.Breakdowns["data_type"]; b.Field != "dataType.keyword" || b.Top != 10 || !cfg.Incidents {
		t.Errorf("breakdowns %+v, incidents %v", cfg.Breakdowns, cfg.Incidents)
	}
	if cfg.Defaults != wantDefaults {
		t.Errorf("the example's defaults differ from the built-in ones:\n%+v\n%+v", cfg.Defaults, wantDefaults)
	}
	open := utmstack.Filter{Field: "status", Operator: "IS", Value: 2}
	high := utmstack.Filter{Field: "severity", Operator: "IS", Value: 3}
	want := []struct {
		name    string
		window  time.Duration
		filters []utmstack.Filter
		by      []string
		ages    []string
	}{
		{"open", 7 * 24 * time.Hour, []utmstack.Filter{open}, []string{"severity", "country", "rule"}, []string{"oldest"}},
		{"open_high", 0, []utmstack.Filter{open, high}, nil, []string{"oldest"}},
		{"all", 24 * time.Hour, nil, []string{"severity", "status", "country", "rule", "data_source", "category"}, []string{"newest"}},
	}
	if len(cfg.Queries) != len(want) {
		t.Fatalf("%d queries, want %d", len(cfg.Queries), len(want))
	}
	for i, w := range want {
		q := cfg.Queries[i]
		var by []string
		for _, b := range q.By {
			by = append(by, b.Name)
		}
		if q.Name != w.name || q.Window != w.window || !reflect.DeepEqual(q.Filters, w.filters) || !reflect.DeepEqual(by, w.by) ||
			!reflect.DeepEqual(q.Ages, w.ages) || q.Help == "" {
			t.Errorf("queries[%d] = %+v", i, q)
		}
	}
}

func TestNilGetenvMeansNoEnvironment(t *testing.T) {
	t.Setenv(EnvAPIKey, "from-the-real-environment")
	_, err := Parse([]byte("utmstack: {url: https://h}\n"), testPath, nil)
	checkErr(t, err, `utmstack.auth: no authentication method; set username with password_file, or api_key_file, or internal_key_file (or the environment variable UTMSTACK_API_KEY or UTMSTACK_INTERNAL_KEY)`)
}
