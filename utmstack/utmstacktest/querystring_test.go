package utmstacktest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEscapeQueryStringIsCustomStringEscapeUtil(t *testing.T) {
	for in, want := range map[string]string{
		"a(b":             `a\(b`,
		`C:\Temp/x`:       `C\:\\Temp\/x`,
		"1+1=2 -x !y":     `1\+1\=2 \-x \!y`,
		`[a]{b}^"c"~d`:    `\[a\]\{b\}\^\"c\"\~d`,
		"*?":              `\*\?`,
		"&&&":             `\&&&`, // the pair first, then a lone & stays
		"a&b|c":           "a&b|c",
		"x || y":          `x \|| y`,
		"<script>alert":   "scriptalert", // deleted, not escaped
		"München café ü*": `München café ü\*`,
		"AND OR NOT":      "AND OR NOT", // words are not escaped
	} {
		if got := escapeQueryString(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func escapingAlerts() []Alert {
	return []Alert{
		{"id": "q1", "name": "Exec of powershell.exe -enc (base64)"},
		{"id": "q2", "name": `Path C:\Windows\Temp\x.exe`},
		{"id": "q3", "name": "Rule [T1059] *wild*"},
		{"id": "q4", "name": "ssh brute force"},
		{"id": "q5", "name": "fast && loose"},
	}
}

func filterJSON(t *testing.T, field, op, value string) string {
	t.Helper()
	m := map[string]string{"operator": op, "value": value}
	if field != "" {
		m["field"] = field
	}
	b, err := json.Marshal([]map[string]string{m})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// UTMStack escapes CONTAIN and IS_IN_FIELDS values and never refuses them;
// OpenSearch then reads "*<escaped>*" as query_string.
func TestQueryStringValuesAreEscapedNotRefused(t *testing.T) {
	for _, edition := range []Edition{EditionCurrent, EditionLegacy} {
		f := newFixture(t, Options{Edition: edition, InternalKey: "k", Alerts: escapingAlerts()})
		for _, tc := range []struct {
			field, op, value, want string
		}{
			{"name.keyword", "CONTAIN", "(base64)", "q1"},
			{"name.keyword", "CONTAIN", "a(b", ""},
			{"name.keyword", "CONTAIN", `C:\Windows\Temp`, "q2"},
			{"name.keyword", "CONTAIN", "[T1059]", "q3"},
			{"name.keyword", "CONTAIN", "*wild*", "q3"}, // literal asterisks
			{"name.keyword", "CONTAIN", "x?exe", ""},    // ? is no wildcard once escaped
			{"name.keyword", "CONTAIN", "<Rule>", "q3"}, // < and > are deleted
			{"name.keyword", "DOES_NOT_CONTAIN", "(base64)", "q2 q3 q4 q5"},
			// On text the pattern meets single tokens, which hold no
			// punctuation: a( matches nothing there.
			{"name", "CONTAIN", "(base64", ""},
			{"name", "CONTAIN", "base64", "q1"},
			// Whitespace still splits terms: on a keyword each must match
			// the whole value, so three terms can never all match.
			{"name.keyword", "CONTAIN", "Exec of powershell", ""},
			// A term of punctuation only has no tokens and drops out.
			{"name", "CONTAIN", "fast && loose", "q5"},
			// AND, OR and NOT are not escaped and keep their meaning.
			{"name", "CONTAIN", "brute OR nothing", "q4"},
			{"name", "CONTAIN", "ssh NOT brute", ""},
			{"name", "CONTAIN", "ssh NOT whoami", "q4"},
			// IS_IN_FIELDS: every field, terms OR-ed.
			{"", "IS_IN_FIELDS", `Temp\x.exe`, "q2"},
			{"", "IS_IN_FIELDS", "ssh (base64", "q4"},
			{"", "IS_IN_FIELDS", "whoami T1059", "q3"}, // lower-cased on text
			{"", "IS_NOT_IN_FIELDS", "(base64)", "q2 q3 q4 q5"},
		} {
			filters := filterJSON(t, tc.field, tc.op, tc.value)
			got, r := f.matching(filters)
			if r.status != 0 && r.status != 200 {
				t.Errorf("%s %s: status %d, %s", edition, filters, r.status, r.header.Get("X-UtmStack-error"))
				continue
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("%s %s\n  got  %q\n  want %q", edition, filters, strings.Join(got, " "), tc.want)
			}
		}
	}
}

// Only a syntax error the escaping cannot prevent fails the request:
// two operators in a row.
func TestQueryStringSyntaxError(t *testing.T) {
	f := newFixture(t, Options{InternalKey: "k", Alerts: escapingAlerts()})
	_, r := f.matching(filterJSON(t, "name", "CONTAIN", "ssh AND OR brute"))
	want := "Failed to parse query [*ssh AND OR brute*]"
	if r.status != 500 || !strings.Contains(r.header.Get("X-UtmStack-error"), want) {
		t.Errorf("status %d, X-UtmStack-error %q; want 500 with %q", r.status, r.header.Get("X-UtmStack-error"), want)
	}
}
