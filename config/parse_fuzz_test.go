package config

// Native fuzz test for the configuration parser. Seed corpus: the files
// below (read at setup) plus testdata/fuzz/FuzzParse/. Run it with:
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s ./config/

import (
	"github.com/utmstack/utmstack_exporter/utmstack"

	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two environment secrets of the same length and shape: any message that
// differs between them only by the secret would otherwise be identical, so
// a secret in an error is a leak, not an echo of the input.
const (
	fuzzSecretA = "FUZZ-SECRET-VALUE-123"
	fuzzSecretB = "FUZZ-SECRET-VALUE-987"
)

// fuzzEnv sets, according to mask, UTMSTACK_PASSWORD (bit 0),
// UTMSTACK_API_KEY (bit 1) and UTMSTACK_INTERNAL_KEY (bit 2) to secret.
func fuzzEnv(mask uint8, secret string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		switch {
		case name == EnvPassword && mask&1 != 0,
			name == EnvAPIKey && mask&2 != 0,
			name == EnvInternalKey && mask&4 != 0:
			return secret, true
		}
		return "", false
	}
}

// fuzzReadsOnlyLocalFiles reports whether every file the configuration would
// make Parse read (secret files, TLS files) is a relative path inside the
// package directory. Absolute paths and ".." could reach /dev/zero, a FIFO or
// /proc and hang the fuzzer; Parse itself never writes anything.
func fuzzReadsOnlyLocalFiles(data []byte) bool {
	raw, err := decode(data, &problems{})
	if err != nil {
		return true // Parse fails before reading any file
	}
	blocks := []rawUTMStack{raw.UTMStack}
	for _, t := range raw.Targets {
		blocks = append(blocks, t.rawUTMStack)
	}
	for _, u := range blocks {
		a, tls := u.Auth, u.TLSConfig
		for _, p := range []string{a.PasswordFile, a.APIKeyFile, a.InternalKeyFile, tls.CAFile, tls.CertFile, tls.KeyFile} {
			if p != "" && !filepath.IsLocal(p) {
				return false
			}
		}
	}
	return true
}

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	files = append(files, "../examples/utmstack.yml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		// The example's password file is absolute; point it at a local one.
		data = []byte(strings.ReplaceAll(string(data), "/etc/utmstack_exporter/password", "testdata/password"))
		for _, mask := range []uint8{0, 1, 2, 7} {
			f.Add(data, mask)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte, envMask uint8) {
		if !fuzzReadsOnlyLocalFiles(data) {
			t.Skip("names a file outside the package directory")
		}
		const path = "fuzz.yml"
		cfgA, errA := Parse(data, path, fuzzEnv(envMask, fuzzSecretA))
		cfgB, errB := Parse(data, path, fuzzEnv(envMask, fuzzSecretB))

		if (errA == nil) != (errB == nil) {
			t.Fatalf("the secret's value changed the outcome: %v / %v", errA, errB)
		}
		if errA != nil {
			if cfgA != nil {
				t.Fatalf("error with a non-nil config: %v", errA)
			}
			msgA, msgB := errA.Error(), errB.Error()
			if strings.Contains(msgA, fuzzSecretA) && !strings.Contains(msgB, fuzzSecretA) ||
				strings.Contains(msgB, fuzzSecretB) && !strings.Contains(msgA, fuzzSecretB) {
				t.Fatalf("error repeats the secret from the environment:\n%s", msgA)
			}
			if !strings.HasPrefix(msgA, path+": ") {
				t.Fatalf("error does not name the file: %q", msgA)
			}
			return
		}

		checkFuzzedConfig(t, cfgA)
		checkFuzzedConfig(t, cfgB)
		sA, sB := cfgA.Summary(), cfgB.Summary()
		if strings.Contains(sA, fuzzSecretA) && !strings.Contains(sB, fuzzSecretA) {
			t.Fatalf("Summary repeats the secret from the environment: %s", sA)
		}
	})
}

// checkFuzzedConfig asserts what every successfully parsed configuration
// guarantees to the rest of the exporter.
func checkFuzzedConfig(t *testing.T, c *Config) {
	t.Helper()
	if c == nil {
		t.Fatal("nil config without an error")
	}
	u := c.UTMStack
	if u.URL == nil || (u.URL.Scheme != "http" && u.URL.Scheme != "https") || u.URL.Host == "" {
		t.Fatalf("url %v", u.URL)
	}
	if u.URL.User != nil || u.URL.Path != "" || u.URL.RawQuery != "" || u.URL.Fragment != "" {
		t.Fatalf("url %q has more than scheme://host[:port]", u.URL)
	}
	if u.MaxConcurrency < 1 || u.MaxConcurrency > 64 {
		t.Fatalf("max_concurrency %d", u.MaxConcurrency)
	}
	if u.Timeout <= 0 || u.MinInterval < 0 {
		t.Fatalf("timeout %v, min_interval %v", u.Timeout, u.MinInterval)
	}
	switch u.Auth.Method {
	case utmstack.AuthPassword:
		if u.Auth.Username == "" {
			t.Fatal("password authentication without a username")
		}
	case utmstack.AuthAPIKey, utmstack.AuthInternalKey:
	default:
		t.Fatalf("auth method %q", u.Auth.Method)
	}
	if u.Auth.Secret.Reveal() == "" || u.Auth.Source == "" {
		t.Fatalf("auth %q without a secret or its source", u.Auth.Method)
	}
	if p := u.ProxyURL; p != nil && p.Scheme != "http" && p.Scheme != "https" && p.Scheme != "socks5" {
		t.Fatalf("proxy_url scheme %q", p.Scheme)
	}
	if n := c.Defaults.TopCountries; n < 1 || n > 300 {
		t.Fatalf("defaults.top_countries %d", n)
	}
	if len(c.Queries) == 0 {
		t.Fatal("no queries")
	}
	seen := map[string]bool{}
	for i, q := range c.Queries {
		if !queryNameRE.MatchString(q.Name) {
			t.Fatalf("queries[%d].name %q", i, q.Name)
		}
		if seen[q.Name] {
			t.Fatalf("queries[%d].name %q is not unique", i, q.Name)
		}
		seen[q.Name] = true
		if q.TopCountries < 1 || q.TopCountries > 300 {
			t.Fatalf("queries[%d].top_countries %d", i, q.TopCountries)
		}
		if q.Window < 0 || strings.TrimSpace(q.IndexPattern) == "" {
			t.Fatalf("queries[%d]: window %v, index_pattern %q", i, q.Window, q.IndexPattern)
		}
		if strings.TrimSpace(q.Fields.Severity) == "" || strings.TrimSpace(q.Fields.Status) == "" || strings.TrimSpace(q.Fields.Country) == "" {
			t.Fatalf("queries[%d]: empty field %+v", i, q.Fields)
		}
		for j, flt := range q.Filters {
			if err := flt.Validate(); err != nil {
				t.Fatalf("queries[%d].filters[%d] accepted but invalid: %v", i, j, err)
			}
		}
		by := map[string]bool{}
		for _, b := range q.By {
			if _, known := c.Breakdowns[b.Name]; !known && b.Name != BySeverity && b.Name != ByStatus && b.Name != ByCountry || by[b.Name] || b.Field == "" {
				t.Fatalf("queries[%d].by %v", i, q.By)
			}
			by[b.Name] = true
		}
	}
}
