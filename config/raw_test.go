package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	commoncfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

// Unknown keys are rejected at every depth, with yaml's line number.
func TestUnknownKeys(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"top level", "utmstack: {url: https://h}\nquery: []\n",
			`line 2: unknown key "query" in the top-level mapping; accepted: utmstack, defaults, queries, targets`},
		{"utmstack", "utmstack:\n  url: https://h\n  timout: 5s\n",
			`line 3: unknown key "timout" in utmstack; accepted: url, timeout, max_concurrency, min_interval, auth, tls_config, proxy_url`},
		{"auth", "utmstack:\n  url: https://h\n  auth:\n    user: prometheus\n",
			`line 4: unknown key "user" in utmstack.auth; accepted: username, password, password_file, api_key, api_key_file, internal_key, internal_key_file`},
		{"tls_config", "utmstack:\n  url: https://h\n  tls_config:\n    ca_file: /x\n    insecure: true\n",
			`line 5: unknown key "insecure" in utmstack.tls_config; accepted: ca, cert, key, ca_file, cert_file, key_file, ca_ref, cert_ref, key_ref, server_name, insecure_skip_verify, min_version, max_version`},
		{"defaults", "defaults:\n  windows: 1h\n",
			`line 2: unknown key "windows" in defaults; accepted: index_pattern, window, window_rounding, exclude_false_positives, exclude_echoes, fields, top_countries`},
		{"defaults.fields", "defaults:\n  fields:\n    city: x\n",
			`line 3: unknown key "city" in fields; accepted: severity, status, country`},
		{"query", "queries:\n  - name: a\n    group_by: [severity]\n",
			`line 3: unknown key "group_by" in a query; accepted: name, help, index_pattern, window, window_rounding, exclude_false_positives, exclude_echoes, fields, top_countries, filters, by`},
		{"query fields", "queries:\n  - name: a\n    fields: {sev: x}\n",
			`line 3: unknown key "sev" in fields; accepted: severity, status, country`},
		{"filter", "queries:\n  - name: a\n    filters:\n      - {field: status, op: IS, value: 2}\n",
			`line 4: unknown key "op" in a filter; accepted: field, operator, value`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.yaml, withKey)
			want := testPath + ": yaml: unmarshal errors:\n  " + tc.want
			if err == nil || err.Error() != want {
				t.Errorf("error:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

// TLSConfig's own UnmarshalYAML uses the old func(any) error form. yaml.v3
// decodes through it with the same decoder, so KnownFields still holds.
// This guards that fact, should we ever decode into TLSConfig directly.
func TestOldStyleUnmarshalerStaysStrict(t *testing.T) {
	var v struct {
		TLS commoncfg.TLSConfig `yaml:"tls_config"`
	}
	dec := yaml.NewDecoder(strings.NewReader("tls_config:\n  ca_file: /x\n  bogus: 1\n"))
	dec.KnownFields(true)
	err := dec.Decode(&v)
	if err == nil || !strings.Contains(err.Error(), "line 3: field bogus not found") {
		t.Errorf("error %v, want an unknown field error on line 3", err)
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
			"yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `four` into int"},
		{"several type errors", "utmstack:\n  url: https://h\n  timeout: [1s]\ndefaults:\n  exclude_echoes: maybe\n",
			"yaml: unmarshal errors:\n  line 3: cannot unmarshal !!seq into a duration\n  line 5: cannot unmarshal !!str `maybe` into bool"},
		{"duplicate key", "utmstack:\n  url: https://h\n  url: https://g\n",
			"yaml: unmarshal errors:\n  line 3: mapping key \"url\" already defined at line 2"},
		{"not a mapping", "- utmstack\n",
			"yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into the top-level mapping"},
		{"auth not a mapping", "utmstack:\n  auth: prometheus\n",
			"yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `prometheus` into utmstack.auth"},
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
	if _, err := decode([]byte("utmstack: {url: https://h}\n...\n")); err != nil {
		t.Errorf("error %v", err)
	}
	if _, err := decode(bytes.Repeat([]byte("---\na: 1\n"), 2)); err == nil {
		t.Error("no error for two documents")
	}
}

func TestTaggedSecretNotEchoed(t *testing.T) {
	for _, doc := range []string{
		"utmstack:\n  url: https://h\n  auth: {username: u, password: !!int hunter22secret}\n",
		"utmstack:\n  url: https://h\n  auth: {internal_key: !!float hunter22secret}\n",
	} {
		_, err := Parse([]byte(doc), "utmstack.yml", nil)
		if err == nil || strings.Contains(err.Error(), "hunter22secret") || !strings.Contains(err.Error(), "cannot decode a value tagged") {
			t.Errorf("err = %v: want a decode error that does not repeat the value", err)
		}
	}
}
