package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/utmstack/utmstack_exporter/internal/testcert"
)

const testPath = "utmstack.yml"

// env returns a getenv that knows only the given name/value pairs.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// withKey satisfies auth from the environment, so that a case only has to
// write what it tests.
var withKey = env(EnvAPIKey, "test-api-key")

func parse(yaml string, getenv func(string) (string, bool)) (*Config, error) {
	return Parse([]byte(yaml), testPath, getenv)
}

// checkErr asserts the exact error text: each want line prefixed with the
// file name, joined as errors.Join does.
func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want:\n%s", strings.Join(want, "\n"))
	}
	for i := range want {
		want[i] = testPath + ": " + want[i]
	}
	if got, w := err.Error(), strings.Join(want, "\n"); got != w {
		t.Errorf("error:\n%s\nwant:\n%s", got, w)
	}
}

func TestValidationRules(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ca.crt"), "not a certificate\n")

	const url = "utmstack: {url: https://h}\n"
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		// utmstack.url
		{"url missing", "utmstack: {}\n",
			[]string{`utmstack.url: required, e.g. https://utmstack.example.com`}},
		{"url not absolute", "utmstack: {url: utmstack.example.com}\n",
			[]string{`utmstack.url: "utmstack.example.com" is not an absolute URL; write it like https://utmstack.example.com`}},
		{"url host:port without scheme", "utmstack: {url: 'utmstack.example.com:8443'}\n",
			[]string{`utmstack.url: "utmstack.example.com:8443" is not an absolute URL; write it like https://utmstack.example.com`}},
		{"url scheme", "utmstack: {url: 'ftp://x'}\n",
			[]string{`utmstack.url: "ftp://x" must use http or https`}},
		{"url no host", "utmstack: {url: 'https://'}\n",
			[]string{`utmstack.url: "https://" has no host`}},
		{"url bad port", "utmstack: {url: 'https://h:70000'}\n",
			[]string{`utmstack.url: "https://h:70000" has port 70000; accepted: 1 to 65535`}},
		{"url user info", "utmstack: {url: 'https://admin:hunter22@h'}\n",
			[]string{`utmstack.url: "https://xxxxx@h" must not contain user info: credentials in a URL would leak into logs; use utmstack.auth`}},
		{"url path", "utmstack: {url: 'https://h/api'}\n",
			[]string{`utmstack.url: "https://h/api" must not have a path ("/api"); give only scheme://host[:port], the exporter adds /api itself`}},
		{"url query", "utmstack: {url: 'https://h/?a=b'}\n",
			[]string{`utmstack.url: "https://h/?a=xxxxx" must not have a query (values not shown: a query may carry a token)`}},
		{"url fragment", "utmstack: {url: 'https://h#top'}\n",
			[]string{`utmstack.url: "https://h#xxxxx" must not have a fragment (not shown: it may carry a token)`}},
		{"url unparsable", "utmstack: {url: 'https://h/%zz'}\n",
			[]string{`utmstack.url: not a valid URL: invalid URL escape "%zz" (the value is not shown: it may hold a token)`}},
		{"url unparsable with a token in its query", "utmstack: {url: 'https://h/%zz?access_token=tok-s3cr3t'}\n",
			[]string{`utmstack.url: not a valid URL: invalid URL escape "%zz" (the value is not shown: it may hold a token)`}},
		{"proxy_url unparsable with a token in its fragment", "utmstack: {url: 'https://h', proxy_url: 'http://proxy:3128/#tok-s3cr3t%zz'}\n",
			[]string{`utmstack.proxy_url: not a valid URL: invalid URL escape "%zz" (the value is not shown: it may hold a token)`}},
		{"url unparsable with credentials", "utmstack: {url: 'https://u:hunter22@h/%zz'}\n",
			[]string{`utmstack.url: not a valid URL (the value is not shown because it may contain credentials)`}},

		// utmstack scalars
		{"timeout zero", "utmstack: {url: https://h, timeout: 0s}\n",
			[]string{`utmstack.timeout: "0s" must be greater than 0`}},
		{"timeout negative", "utmstack: {url: https://h, timeout: -5s}\n",
			[]string{`utmstack.timeout: "-5s" must be greater than 0`}},
		{"timeout not a duration", "utmstack: {url: https://h, timeout: soon}\n",
			[]string{`utmstack.timeout: "soon" is not a valid duration; use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s or 7d`}},
		{"timeout without unit", "utmstack: {url: https://h, timeout: 10}\n",
			[]string{`utmstack.timeout: "10" is not a valid duration; use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s or 7d`}},
		{"max_concurrency low", "utmstack: {url: https://h, max_concurrency: 0}\n",
			[]string{`utmstack.max_concurrency: 0 is out of range; accepted: 1 to 64`}},
		{"max_concurrency high", "utmstack: {url: https://h, max_concurrency: 65}\n",
			[]string{`utmstack.max_concurrency: 65 is out of range; accepted: 1 to 64`}},
		{"min_interval negative", "utmstack: {url: https://h, min_interval: -1m}\n",
			[]string{`utmstack.min_interval: "-1m" must not be negative (0 means every scrape asks UTMStack)`}},

		// utmstack.proxy_url
		{"proxy scheme", "utmstack: {url: https://h, proxy_url: 'ftp://p'}\n",
			[]string{`utmstack.proxy_url: "ftp://p" must use http, https or socks5`}},
		{"proxy not absolute", "utmstack: {url: https://h, proxy_url: 'proxy:3128'}\n",
			[]string{`utmstack.proxy_url: "proxy:3128" is not an absolute URL; write it like http://proxy.example.com:3128`}},
		{"proxy credentials redacted", "utmstack: {url: https://h, proxy_url: 'ftp://u:hunter22@p'}\n",
			[]string{`utmstack.proxy_url: "ftp://xxxxx@p" must use http, https or socks5`}},

		// utmstack.tls_config
		{"tls ca_file missing", "utmstack: {url: https://h, tls_config: {ca_file: " + filepath.Join(dir, "nope.crt") + "}}\n",
			[]string{`utmstack.tls_config: unable to read CA cert: unable to read file ` + filepath.Join(dir, "nope.crt") + `: open ` + filepath.Join(dir, "nope.crt") + `: no such file or directory`}},
		{"tls ca_file not PEM", "utmstack: {url: https://h, tls_config: {ca_file: " + filepath.Join(dir, "ca.crt") + "}}\n",
			[]string{`utmstack.tls_config: unable to use specified CA cert file ` + filepath.Join(dir, "ca.crt")}},
		{"tls ca and ca_file", "utmstack: {url: https://h, tls_config: {ca: x, ca_file: /x}}\n",
			[]string{`utmstack.tls_config: at most one of ca, ca_file & ca_ref must be configured`}},
		{"tls cert without key", "utmstack: {url: https://h, tls_config: {cert_file: /x}}\n",
			[]string{`utmstack.tls_config: exactly one of key or key_file must be configured when a client certificate is configured`}},

		// defaults
		{"index_pattern empty", url + "defaults: {index_pattern: ''}\n",
			[]string{`defaults.index_pattern: must not be empty; UTMStack v11 uses v11-alert-*, v10 alert-*`}},
		{"window negative", url + "defaults: {window: -1d}\n",
			[]string{`defaults.window: "-1d" must not be negative (0 means all time)`}},
		{"field empty", url + "defaults: {fields: {country: ' '}}\n",
			[]string{`defaults.fields.country: must not be empty; give the alert document field to aggregate on`}},
		{"window_rounding not a date math step", url + "defaults: {window_rounding: 5m}\n",
			[]string{`defaults.window_rounding: "5m" is not a date math rounding step; accepted: 0, 1s, 1m, 1h, 1d`}},
		{"window_rounding negative", url + "queries: [{name: a, window_rounding: -1m}]\n",
			[]string{`queries[0].window_rounding: "-1m" must not be negative (0 turns rounding off)`}},
		{"top_countries low", url + "defaults: {top_countries: 0}\n",
			[]string{`defaults.top_countries: 0 is out of range; accepted: 1 to 300`}},
		{"top_countries high", url + "defaults: {top_countries: 301}\n",
			[]string{`defaults.top_countries: 301 is out of range; accepted: 1 to 300`}},

		// queries
		{"queries empty", url + "queries: []\n",
			[]string{`queries: the list is empty, so there would be nothing to export; list at least one query, or remove the key to use the built-in set (all, open)`}},
		{"query name missing", url + "queries: [{help: x}]\n",
			[]string{`queries[0].name: required; it becomes the label query="<name>" (lowercase letters, digits and _, e.g. open_high)`}},
		{"query name pattern", url + "queries: [{name: Open-Alerts}]\n",
			[]string{`queries[0].name: "Open-Alerts" must match ^[a-z][a-z0-9_]*$`}},
		{"query name starts with digit", url + "queries: [{name: 1st}]\n",
			[]string{`queries[0].name: "1st" must match ^[a-z][a-z0-9_]*$`}},
		{"query name duplicate", url + "queries: [{name: a}, {name: b}, {name: a}]\n",
			[]string{`queries[2].name: "a" is already used by queries[0]; names must be unique`}},
		{"by unknown", url + "queries: [{name: a, by: [severity, source]}]\n",
			[]string{`queries[0].by[1]: "source" is not a breakdown; accepted: severity, status, country, category, data_source, rule, technique (define others under breakdowns)`}},
		{"by duplicate", url + "queries: [{name: a, by: [country, status, country]}]\n",
			[]string{`queries[0].by[2]: "country" is listed twice (also at by[0])`}},
		{"filter operator", url + "queries: [{name: a}, {name: b}, {name: c, filters: [{field: x, operator: FOO, value: 1}]}]\n",
			[]string{`queries[2].filters[0].operator: unknown operator "FOO"; accepted: IS, IS_NOT, CONTAIN, CONTAIN_ONE_OF, DOES_NOT_CONTAIN_ONE_OF, DOES_NOT_CONTAIN, IS_ONE_OF, IS_NOT_ONE_OF, IS_ONE_OF_TERMS, IS_ONE_OF_TERMS_OR, EXIST, DOES_NOT_EXIST, IS_BETWEEN, IS_NOT_BETWEEN, IS_IN_FIELDS, IS_NOT_IN_FIELDS, ENDS_WITH, NOT_ENDS_WITH, START_WITH, NOT_START_WITH, IS_GREATER_THAN, IS_LESS_THAN_OR_EQUALS`}},
		{"filter field", url + "queries: [{name: a, filters: [{operator: EXIST}]}]\n",
			[]string{`queries[0].filters[0].field: required for operator EXIST`}},
		{"filter value shape", url + "queries: [{name: a, filters: [{field: x, operator: IS}, {field: '@timestamp', operator: IS_BETWEEN, value: [now-7d]}]}]\n",
			[]string{
				`queries[0].filters[0].value: operator IS takes a single value (string, number or boolean); got nothing`,
				`queries[0].filters[1].value: operator IS_BETWEEN takes a list of exactly two values [from, to]; got a list of 1`,
			}},
		{"query overrides", url + "queries: [{name: a, index_pattern: '', window: 1x, fields: {status: ''}, top_countries: 0}]\n",
			[]string{
				`queries[0].index_pattern: must not be empty; UTMStack v11 uses v11-alert-*, v10 alert-*`,
				`queries[0].window: "1x" is not a valid duration; use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s or 7d`,
				`queries[0].fields.status: must not be empty; give the alert document field to aggregate on`,
				`queries[0].top_countries: 0 is out of range; accepted: 1 to 300`,
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(tc.yaml, withKey)
			checkErr(t, err, tc.want...)
			if cfg != nil {
				t.Errorf("got a Config along with the error")
			}
		})
	}
}

// Every problem of a file is reported at once, in file order.
func TestValidationCollectsAll(t *testing.T) {
	_, err := Load("testdata/invalid.yml", nil)
	want := []string{
		`utmstack.url: "ftp://utmstack.example.com" must use http or https`,
		`utmstack.timeout: "0s" must be greater than 0`,
		`utmstack.max_concurrency: 100 is out of range; accepted: 1 to 64`,
		`utmstack.auth.api_key_file: cannot read the API key: open testdata/missing_api_key: no such file or directory; ` + waysAPIKey,
		`defaults.top_countries: 0 is out of range; accepted: 1 to 300`,
		`queries[0].name: "Open" must match ^[a-z][a-z0-9_]*$`,
		`queries[0].filters[0].operator: unknown operator "EQUALS"; accepted: IS, IS_NOT, CONTAIN, CONTAIN_ONE_OF, DOES_NOT_CONTAIN_ONE_OF, DOES_NOT_CONTAIN, IS_ONE_OF, IS_NOT_ONE_OF, IS_ONE_OF_TERMS, IS_ONE_OF_TERMS_OR, EXIST, DOES_NOT_EXIST, IS_BETWEEN, IS_NOT_BETWEEN, IS_IN_FIELDS, IS_NOT_IN_FIELDS, ENDS_WITH, NOT_ENDS_WITH, START_WITH, NOT_START_WITH, IS_GREATER_THAN, IS_LESS_THAN_OR_EQUALS`,
		`queries[0].by[1]: "source" is not a breakdown; accepted: severity, status, country, category, data_source, rule, technique (define others under breakdowns)`,
		`queries[2].name: "all" is already used by queries[1]; names must be unique`,
	}
	if err == nil {
		t.Fatal("no error")
	}
	for i := range want {
		want[i] = "testdata/invalid.yml: " + want[i]
	}
	if got, w := err.Error(), strings.Join(want, "\n"); got != w {
		t.Errorf("error:\n%s\nwant:\n%s", got, w)
	}
}

func TestValidURLForms(t *testing.T) {
	for raw, want := range map[string]string{
		"https://utmstack.example.com":       "https://utmstack.example.com",
		"https://utmstack.example.com/":      "https://utmstack.example.com",
		"http://10.0.0.5:8080":               "http://10.0.0.5:8080",
		"HTTPS://utmstack.example.com:443/":  "https://utmstack.example.com:443",
		"https://[2001:db8::1]:8443":         "https://[2001:db8::1]:8443",
		"https://utmstack.example.com:9443/": "https://utmstack.example.com:9443",
	} {
		cfg, err := parse("utmstack: {url: '"+raw+"'}\n", withKey)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if got := cfg.UTMStack.URL.String(); got != want {
			t.Errorf("%s: URL %q, want %q", raw, got, want)
		}
	}
}

func TestProxyURL(t *testing.T) {
	for _, raw := range []string{"http://proxy:3128", "https://proxy", "socks5://127.0.0.1:1080", "http://user:pw@proxy:3128"} {
		cfg, err := parse("utmstack: {url: https://h, proxy_url: '"+raw+"'}\n", withKey)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if got := cfg.UTMStack.ProxyURL.String(); got != raw {
			t.Errorf("proxy %q, want %q", got, raw)
		}
	}
	cfg, err := parse("utmstack: {url: https://h, proxy_url: ''}\n", withKey)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UTMStack.ProxyURL != nil {
		t.Errorf("empty proxy_url gave %v, want nil", cfg.UTMStack.ProxyURL)
	}
}

func TestTLSConfigFilesAccepted(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.crt")
	writeFile(t, ca, selfSignedCA(t))
	cfg, err := parse("utmstack: {url: https://h, tls_config: {ca_file: "+ca+", server_name: utm.local, min_version: TLS12}}\n", withKey)
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.UTMStack.TLSConfig
	if tc.CAFile != ca || tc.ServerName != "utm.local" || tc.MinVersion == 0 {
		t.Errorf("tls_config not carried over: %+v", tc)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// selfSignedCA makes a throwaway CA certificate in PEM form.
func selfSignedCA(t *testing.T) string {
	t.Helper()
	cert, _ := testcert.SelfSigned(t, "test CA")
	return string(cert)
}
