package examples

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The series selectors of a PromQL expression, found by a small lexer
// rather than Prometheus' parser: the root module does not depend on
// Prometheus itself. It knows what the shipped rules and panels use:
// selectors with and without a metric name, functions, aggregations with
// by/without, vector matching (on, ignoring, group_left, group_right),
// ranges and subqueries, offset, strings, numbers and comments.

// matcher is one label matcher of a selector; a metric name is
// __name__="name".
type matcher struct {
	name, op, value string
}

type selector struct {
	text     string // as written, for messages
	matchers []matcher
	// call is the function the selector is a direct argument of, rng
	// the range written after it ("5m" of [5m]), each "" if none.
	call, rng string
}

func (s selector) String() string { return s.text }

// matches reports whether a series (its labels, __name__ included) is
// selected. A missing label has the value "", as in Prometheus.
func (s selector) matches(series map[string]string) bool {
	for _, m := range s.matchers {
		v := series[m.name]
		switch m.op {
		case "=":
			if v != m.value {
				return false
			}
		case "!=":
			if v == m.value {
				return false
			}
		case "=~", "!~":
			// Anchored, as Prometheus anchors label regexps.
			re, err := regexp.Compile("^(?:" + m.value + ")$")
			if err != nil || re.MatchString(v) != (m.op == "=~") {
				return false
			}
		}
	}
	return true
}

type tokenKind int

const (
	tokIdent tokenKind = iota
	tokString
	tokNumber
	tokBraces   // {...}, with its text
	tokBrackets // [...]: a range or subquery, never a selector
	tokPunct
)

type token struct {
	kind tokenKind
	text string
}

// aggregations may be followed by by/without before their parentheses.
var aggregations = []string{
	"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
	"bottomk", "topk", "quantile", "limitk", "limit_ratio",
}

var (
	groupingKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
	otherKeywords    = []string{"and", "or", "unless", "bool", "atan2", "inf", "nan"}
)

// selectorsOf returns every series selector of expr, in order.
func selectorsOf(expr string) ([]selector, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	var out []selector
	next := func(i int) token {
		if i+1 < len(toks) {
			return toks[i+1]
		}
		return token{kind: tokPunct}
	}
	var calls []string // the function each open "(" belongs to, "" for none
	// found completes a selector that began at toks[start] and ends at
	// toks[i]: its call and range.
	found := func(sel selector, start, i int) {
		if start > 0 && (toks[start-1].text == "(" || toks[start-1].text == ",") && len(calls) > 0 {
			sel.call = calls[len(calls)-1]
		}
		if after := next(i); after.kind == tokBrackets {
			sel.rng = after.text[1 : len(after.text)-1]
		}
		out = append(out, sel)
	}
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		switch tok.kind {
		case tokPunct:
			switch {
			case tok.text == "(" && i > 0 && toks[i-1].kind == tokIdent:
				calls = append(calls, strings.ToLower(toks[i-1].text))
			case tok.text == "(":
				calls = append(calls, "")
			case tok.text == ")" && len(calls) > 0:
				calls = calls[:len(calls)-1]
			}
		case tokIdent:
			word := strings.ToLower(tok.text)
			after := next(i)
			switch {
			case slices.Contains(groupingKeywords, word):
				if after.text == "(" {
					i = closing(toks, i+1)
				}
			case slices.Contains(otherKeywords, word):
			case word == "offset":
				i++ // its duration
				if next(i-1).text == "-" {
					i++
				}
			case after.text == "(" || slices.Contains(aggregations, word) && (after.text == "by" || after.text == "without"):
				// A function or an aggregation, not a metric.
			default:
				sel, start := selector{text: tok.text, matchers: []matcher{{"__name__", "=", tok.text}}}, i
				if after.kind == tokBraces {
					ms, err := parseMatchers(after.text)
					if err != nil {
						return nil, fmt.Errorf("%s%s: %w", tok.text, after.text, err)
					}
					sel.text += after.text
					sel.matchers = append(sel.matchers, ms...)
					i++
				}
				found(sel, start, i)
			}
		case tokBraces:
			ms, err := parseMatchers(tok.text)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", tok.text, err)
			}
			found(selector{text: tok.text, matchers: ms}, i, i)
		}
	}
	return out, nil
}

// closing returns the index of the ")" that closes the "(" at open.
func closing(toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		switch toks[i].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(toks)
}

func lex(expr string) ([]token, error) {
	var toks []token
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			end, err := stringEnd(expr, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, expr[i:end]})
			i = end
		case c == '{' || c == '[':
			closer := map[byte]byte{'{': '}', '[': ']'}[c]
			j := i + 1
			for j < len(expr) && expr[j] != closer {
				if q := expr[j]; q == '"' || q == '\'' || q == '`' {
					end, err := stringEnd(expr, j)
					if err != nil {
						return nil, err
					}
					j = end
					continue
				}
				j++
			}
			if j == len(expr) {
				return nil, fmt.Errorf("unclosed %c at offset %d", c, i)
			}
			kind := tokBraces
			if c == '[' {
				kind = tokBrackets
			}
			toks = append(toks, token{kind, expr[i : j+1]})
			i = j + 1
		case '0' <= c && c <= '9' || c == '.':
			j := i
			for j < len(expr) && (isIdent(expr[j]) || expr[j] == '.') {
				j++
			}
			toks = append(toks, token{tokNumber, expr[i:j]})
			i = j
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, expr[i:j]})
			i = j
		default:
			toks = append(toks, token{tokPunct, string(c)})
			i++
		}
	}
	return toks, nil
}

// stringEnd returns the offset just past the string literal at start.
func stringEnd(s string, start int) (int, error) {
	quote := s[start]
	for i := start + 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quote != '`':
			i++
		case s[i] == quote:
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("unclosed string at offset %d", start)
}

var matcherPattern = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:\\.|[^"\\])*"|` + "`[^`]*`" + `)\s*(?:,|$)`)

// parseMatchers reads {name op "value", ...}.
func parseMatchers(braces string) ([]matcher, error) {
	rest := strings.TrimSpace(braces[1 : len(braces)-1])
	var out []matcher
	for rest != "" {
		m := matcherPattern.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("cannot read the label matcher at %q", rest)
		}
		value, err := strconv.Unquote(m[3])
		if err != nil {
			return nil, fmt.Errorf("label %s: value %s: %w", m[1], m[3], err)
		}
		out = append(out, matcher{m[1], m[2], value})
		rest = strings.TrimSpace(rest[len(m[0]):])
	}
	return out, nil
}

func TestSelectorsOf(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up`, []string{`up`}},
		{`sort_desc(topk(10, sum by (country) (a{q="x", c!~"other|unknown"})))`, []string{`a{q="x", c!~"other|unknown"}`}},
		{"(time() - a{q=\"open\"} > 1800 or last_over_time(b[1d]) > 1800 unless on (job, instance) (c == 1 unless on (job) d{q=\"}\"} == 0))\n" +
			"* on (job, instance) group_left (url) job_instance:e:last",
			[]string{`a{q="open"}`, `b`, `c`, `d{q="}"}`, `job_instance:e:last`}},
		{`a offset 30m > 0 and max_over_time((b and c)[1d:1m]) # a comment{x="y"}`, []string{`a`, `b`, `c`}},
		{`label_replace(group without (x) (f), "url", "unknown", "", "")`, []string{`f`}},
		{`{__name__="g", job=~"$job"}`, []string{`{__name__="g", job=~"$job"}`}},
		{`increase(h_total{reason=~"a|b"}[$__rate_interval]) > bool 0`, []string{`h_total{reason=~"a|b"}`}},
	} {
		sels, err := selectorsOf(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		var got []string
		for _, s := range sels {
			got = append(got, s.text)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: selectors %q, want %q", tc.expr, got, tc.want)
		}
	}
	sels, err := selectorsOf(`sum by (x) (rate(a{q="x"}[5m])) / ignoring (y) increase(b[1h]) + abs(c) + d[1d:1m]`)
	var got []string
	for _, s := range sels {
		got = append(got, s.call+"("+s.rng+")")
	}
	if want := []string{"rate(5m)", "increase(1h)", "abs()", "(1d:1m)"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("calls and ranges %q (%v), want %q", got, err, want)
	}
	if _, err := selectorsOf(`a{b="c"`); err == nil {
		t.Error("an unclosed { was accepted")
	}
	if _, err := selectorsOf(`a{b=~c}`); err == nil {
		t.Error("an unquoted label value was accepted")
	}
}

func TestSelectorMatches(t *testing.T) {
	series := map[string]string{"__name__": "utmstack_alerts", "query": "open", "job": "utmstack"}
	for sel, want := range map[string]bool{
		`utmstack_alerts`:                         true,
		`utmstack_alerts{query="open"}`:           true,
		`utmstack_alerts{query="open_high"}`:      false,
		`utmstack_alerts{query=~"op"}`:            false, // anchored
		`utmstack_alerts{query!~"all|open"}`:      false,
		`utmstack_alerts{severity=""}`:            true, // a missing label is ""
		`{__name__=~"utmstack_.+", job!="other"}`: true,
		`utmstack_up`:                             false,
	} {
		sels, err := selectorsOf(sel)
		if err != nil || len(sels) != 1 {
			t.Fatalf("%s: %v, %d selectors", sel, err, len(sels))
		}
		if got := sels[0].matches(series); got != want {
			t.Errorf("%s matches %v: %v, want %v", sel, series, got, want)
		}
	}
}
