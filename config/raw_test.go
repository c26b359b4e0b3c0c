package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	commoncfg "github.com/prometheus/common/config"
)

// Unknown keys are rejected at every depth, with their key path, the keys
// accepted there and yaml's line number. The rest of the file is still
// validated, so a case may go on with more problems; only the first counts.
func TestUnknownKeys(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"top level", "utmstack: {url: https://h}\nquery: []\n",
			`unknown key "query"; accepted: utmstack, defaults, queries, breakdowns, incidents, targets, coverage (line 2)`},
		{"utmstack", "utmstack:\n  url: https://h\n  timout: 5s\n",
			`utmstack: unknown key "timout"; accepted: url, timeout, max_concurrency, min_interval, auth, tls_config, proxy_url (line 3)`},
		{"auth", "utmstack:\n  url: https://h\n  auth:\n    user: prometheus\n",
			`utmstack.auth: unknown key "user"; accepted: username, password, password_file, api_key, api_key_file, internal_key, internal_key_file (line 4)`},
		{"tls_config", "utmstack:\n  url: https://h\n  tls_config:\n    ca_file: /x\n    insecure: true\n",
			`utmstack.tls_config: unknown key "insecure"; accepted: ca, cert, key, ca_file, cert_file, key_file, ca_ref, cert_ref, key_ref, server_name, insecure_skip_verify, min_version, max_version (line 5)`},
		{"defaults", "defaults:\n  windows: 1h\n",
			`defaults: unknown key "windows"; accepted: index_pattern, window, window_rounding, exclude_false_positives, exclude_echoes, fields, top_countries (line 2)`},
		{"defaults.fields", "defaults:\n  fields:\n    city: x\n",
			`defaults.fields: unknown key "city"; accepted: severity, status, country (line 3)`},
		{"query", "queries:\n  - name: a\n    group_by: [severity]\n",
			`queries[0]: unknown key "group_by"; accepted: name, help, index_pattern, window, window_rounding, exclude_false_positives, exclude_echoes, fields, top_countries, filters, by, ages (line 3)`},
		{"query fields", "queries:\n  - name: a\n    fields: {sev: x}\n",
			`queries[0].fields: unknown key "sev"; accepted: severity, status, country (line 3)`},
		{"filter", "queries:\n  - name: a\n    filters:\n      - {field: status, op: IS, value: 2}\n",
			`queries[0].filters[0]: unknown key "op"; accepted: field, operator, value (line 4)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.yaml, withKey)
			want := testPath + ": " + tc.want
			if err == nil || strings.Split(err.Error(), "\n")[0] != want {
				t.Errorf("error:\n%v\nwant first:\n%s", err, want)
			}
		})
	}
}

// plainTLS must stay field-for-field identical to TLSConfig, or the
// conversion in resolve would not compile; this checks the keys too.
func TestPlainTLSKeys(t *testing.T) {
	if got, want := yamlKeys(reflect.TypeFor[plainTLS]()), yamlKeys(reflect.TypeFor[commoncfg.TLSConfig]()); !reflect.DeepEqual(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
}

func TestYAMLErrorsKeepLineNumbers(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"syntax", "utmstack:\n  url: [\n", "yaml: line 2: did not find expected node content"},
		{"wrong type", "utmstack:\n  url: https://h\n  max_concurrency: four\n",
			`utmstack.max_concurrency: "four" is not a whole number (line 3)`},
		// yaml's own type errors come first, then validation's.
		{"several type errors", "utmstack:\n  url: https://h\n  timeout: [1s]\ndefaults:\n  exclude_echoes: maybe\n",
			`defaults.exclude_echoes: "maybe" is not accepted; accepted: true, false (line 5)` + "\n" + testPath +
				": utmstack.timeout: a list is not a valid duration; use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s or 7d (line 3)"},
		{"duplicate key", "utmstack:\n  url: https://h\n  url: https://g\n",
			`utmstack: key "url" is set twice, at line 2 and line 3`},
		// Everything else would be a follow-on of this one.
		{"not a mapping", "- utmstack\n",
			"a list is not a mapping; accepted keys: utmstack, defaults, queries, breakdowns, incidents, targets, coverage (line 1)"},
		{"auth not a mapping", "utmstack:\n  url: https://h\n  auth: prometheus\n",
			`utmstack.auth: the value (not shown: it may be a secret) is not a mapping; accepted keys: username, password, password_file, api_key, api_key_file, internal_key, internal_key_file (line 3)`},
		{"second document", "utmstack: {url: https://h}\n---\nqueries: []\n",
			"line 2: a second YAML document; the file must hold exactly one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.yaml, withKey)
			if want := testPath + ": " + tc.want; err == nil || err.Error() != want {
				t.Errorf("error:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

// An empty file is a valid document: it only lacks what is required.
func TestEmptyFile(t *testing.T) {
	for _, data := range []string{"", "\n", "# only a comment\n", "---\n"} {
		_, err := parse(data, nil)
		checkErr(t, err,
			`utmstack.url: required, e.g. https://utmstack.example.com`,
			`utmstack.auth: no authentication method; set username with password_file, or api_key_file, or internal_key_file (or the environment variable UTMSTACK_API_KEY or UTMSTACK_INTERNAL_KEY)`)
	}
	// With the auth from the environment, an empty file lacks only the URL.
	_, err := parse("", withKey)
	checkErr(t, err, `utmstack.url: required, e.g. https://utmstack.example.com`)
}

// Filter values reach UTMStack as written: an unquoted date stays a
// string rather than becoming a time.Time.
func TestFilterValuesAsWritten(t *testing.T) {
	cfg, err := parse(`utmstack: {url: https://h}
queries:
  - name: a
    filters:
      - {field: "@timestamp", operator: IS_BETWEEN, value: [2024-01-01, now]}
      - {field: status, operator: IS, value: 2}
      - {field: tags, operator: IS_ONE_OF_TERMS, value: ["False positive", x]}
      - {field: parentId, operator: DOES_NOT_EXIST}
      - {field: impactScore, operator: IS_GREATER_THAN, value: 2.5}
      - {field: isIncident, operator: IS, value: true}
      - {field: x, operator: IS, value: "2"}
`, withKey)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Queries[0].Filters
	want := []any{[]any{"2024-01-01", "now"}, 2, []any{"False positive", "x"}, nil, 2.5, true, "2"}
	if len(got) != len(want) {
		t.Fatalf("%d filters, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i].Value, want[i]) {
			t.Errorf("filters[%d].value = %#v, want %#v", i, got[i].Value, want[i])
		}
	}
	if got[0].Field != "@timestamp" || got[0].Operator != "IS_BETWEEN" {
		t.Errorf("filters[0] = %+v", got[0])
	}
}

func TestDecodeIsOneDocument(t *testing.T) {
	// A document end marker without a second document is fine.
	if _, err := decode([]byte("utmstack: {url: https://h}\n...\n"), &problems{}); err != nil {
		t.Errorf("error %v", err)
	}
	if _, err := decode(bytes.Repeat([]byte("---\na: 1\n"), 2), &problems{}); err == nil {
		t.Error("no error for two documents")
	}
}

func TestTaggedSecretNotEchoed(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"utmstack:\n  url: https://h\n  auth: {username: u, password: !!int hunter22secret}\n",
			`utmstack.auth.password: the value (not shown: it may be a secret) does not match its tag !!int; remove the tag (line 3)`},
		{"utmstack:\n  url: https://h\n  auth: {internal_key: !!float hunter22secret}\n",
			`utmstack.auth.internal_key: the value (not shown: it may be a secret) does not match its tag !!float; remove the tag (line 3)`},
	}
	for _, tc := range cases {
		_, err := parse(tc.doc, nil)
		checkErr(t, err, tc.want)
	}
}
