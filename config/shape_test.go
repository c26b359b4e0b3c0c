package config

import (
	"slices"
	"strings"
	"testing"
)

// A value yaml cannot decode is reported like any other problem: key path,
// the value in full (unless it may be a secret), the accepted values where
// they are a closed set, and the line; and the rest of the file is still
// validated.
func TestUndecodableValues(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // each must appear as a line of its own
		not  []string // none may appear
	}{
		{"query values", `utmstack: {url: https://h}
queries:
  - {name: a}
  - {name: b}
  - {name: c, top_countries: lots, by: severity}
  - {name: d, window: {x: 1}}
  - {name: Bad}
`, []string{
			`queries[2].top_countries: "lots" is not a whole number (line 5)`,
			`queries[2].by: "severity" is not a list; write it as [severity] (line 5)`,
			`queries[3].window: a mapping is not a valid duration; use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s or 7d (line 6)`,
			// the semantic checks still run
			`queries[4].name: "Bad" must match ^[a-z][a-z0-9_]*$`,
		}, []string{"yaml:", "unmarshal"}},
		{"max_concurrency", "utmstack:\n  url: https://h\n  max_concurrency: four\n",
			[]string{`utmstack.max_concurrency: "four" is not a whole number (line 3)`}, nil},
		{"number too large", "utmstack: {url: https://h}\ndefaults:\n  top_countries: 99999999999999999999\n",
			[]string{`defaults.top_countries: "99999999999999999999" is out of range; accepted: 1 to 300 (line 3)`},
			[]string{"...", "!!float"}},
		{"secret one level too high", "utmstack:\n  url: https://h\n  auth: hunter22secret\n",
			[]string{`utmstack.auth: the value (not shown: it may be a secret) is not a mapping; accepted keys: username, password, password_file, api_key, api_key_file, internal_key, internal_key_file (line 3)`},
			[]string{"hunter22secret"}},
		{"token in the url's query", "utmstack:\n  url: https://h/?token=s3cr3tQ&x=1\n  auth: {api_key: k}\n",
			[]string{`utmstack.url: "https://h/?token=xxxxx&x=xxxxx" must not have a query (values not shown: a query may carry a token)`},
			[]string{"s3cr3tQ"}},
		{"token in the url's fragment", "utmstack:\n  url: https://h#access_token=s3cr3tF\n  auth: {api_key: k}\n",
			[]string{`utmstack.url: "https://h#xxxxx" must not have a fragment (not shown: it may carry a token)`},
			[]string{"s3cr3tF"}},
		{"tls version", "utmstack:\n  url: https://h\n  tls_config:\n    min_version: TLS99\n",
			[]string{`utmstack.tls_config.min_version: "TLS99" is not a TLS version; accepted: TLS10, TLS11, TLS12, TLS13 (line 4)`}, nil},
		{"bool", "utmstack: {url: https://h}\ndefaults: {exclude_echoes: maybe}\n",
			[]string{`defaults.exclude_echoes: "maybe" is not accepted; accepted: true, false (line 2)`}, nil},
		{"tagged secret", "utmstack:\n  url: https://h\n  auth:\n    username: prometheus\n    password: !!int hunter22secret\n",
			[]string{`utmstack.auth.password: the value (not shown: it may be a secret) does not match its tag !!int; remove the tag (line 5)`},
			[]string{"hunter22secret", "hunter22"}},
		{"tagged secret in a target", "utmstack: {url: https://h}\ntargets:\n  east:\n    url: https://e\n    auth: {api_key: !!bool hunter22secret}\n",
			[]string{`targets.east.auth.api_key: the value (not shown: it may be a secret) does not match its tag !!bool; remove the tag (line 5)`},
			[]string{"hunter22secret", "hunter22"}},
		{"tagged non-secret", "utmstack:\n  url: !!int https://h\n",
			[]string{`utmstack.url: "https://h" does not match its tag !!int; remove the tag (line 2)`}, nil},
		{"target keys", `utmstack: {url: https://h}
targets:
  east:
    url: https://e
    auth:
      pasword_file: /nonexistent
    tls_config:
      insecure_skip_verfy: true
`, []string{
			`targets.east.auth: unknown key "pasword_file"; accepted: username, password, password_file, api_key, api_key_file, internal_key, internal_key_file (line 6)`,
			`targets.east.tls_config: unknown key "insecure_skip_verfy"; accepted: ca, cert, key, ca_file, cert_file, key_file, ca_ref, cert_ref, key_ref, server_name, insecure_skip_verify, min_version, max_version (line 8)`,
		}, []string{"in utmstack.auth", "in utmstack.tls_config"}},
		{"list item", "utmstack: {url: https://h}\nqueries:\n  - name: a\n    by: [severity, {x: 1}, bogus]\n",
			// yaml drops the item, so the ones after it would be misnumbered:
			// the list has no follow-on of its own.
			[]string{`queries[0].by[1]: a mapping is not a single value (line 4)`},
			[]string{`by[1]: ""`, `"bogus"`}},
		{"target not a mapping", "utmstack: {url: https://h}\ntargets:\n  east: https://e\n",
			[]string{`targets.east: "https://e" is not a mapping; accepted keys: url, timeout, max_concurrency, min_interval, auth, tls_config, proxy_url, queries (line 3)`},
			[]string{"targets.east.url", "targets.east.auth"}},
		{"duplicate target", "utmstack: {url: https://h}\ntargets:\n  east: {url: https://e}\n  east: {url: https://f}\n",
			[]string{`targets: key "east" is set twice, at line 3 and line 4`}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.yaml, withKey)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			lines := strings.Split(msg, "\n")
			for _, w := range tc.want {
				if !slices.Contains(lines, testPath+": "+w) {
					t.Errorf("error:\n%s\nwant a line:\n%s: %s", msg, testPath, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(msg, n) {
					t.Errorf("error:\n%s\nmust not contain %q", msg, n)
				}
			}
		})
	}
}

// Anchors, aliases and merge keys are decoded as yaml does, and checked
// where they are used.
func TestShapeAliasesAndMerges(t *testing.T) {
	cfg, err := parse(`utmstack: {url: https://h}
defaults: &d
  window: 7d
queries:
  - name: a
    <<: *d
  - name: b
    <<: [{top_countries: 5}]
`, withKey)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Queries[0].Window.Hours() != 7*24 || cfg.Queries[1].TopCountries != 5 {
		t.Errorf("queries: %+v", cfg.Queries)
	}

	_, err = parse("utmstack: {url: https://h}\nqueries:\n  - name: a\n    <<: {windw: 1h}\n", withKey)
	if err == nil || !strings.Contains(err.Error(), `queries[0]: unknown key "windw"`) {
		t.Errorf("unknown key in a merge: %v", err)
	}

	// An alias cycle ends, with an error rather than a hang.
	if _, err := parse("utmstack: {url: https://h}\ndefaults: &a\n  fields: *a\n", withKey); err == nil {
		t.Error("no error for an alias cycle")
	}
}
