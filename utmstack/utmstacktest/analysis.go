package utmstacktest

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// analyze approximates OpenSearch's standard analyzer (Unicode word
// boundaries, lower-cased): letters and digits form tokens and underscores
// join them; a dot joins letters to letters or digits to digits
// ("example.com", "10.0.0.1"), an apostrophe joins letters ("don't"), a
// comma joins digits. Everything else separates tokens.
func analyze(s string) []string {
	rs := []rune(s)
	var tokens []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			tokens = append(tokens, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || r == '_':
			cur = append(cur, r)
		case len(cur) > 0 && i+1 < len(rs) && joins(r, rs[i-1], rs[i+1]):
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	return tokens
}

func joins(mid, prev, next rune) bool {
	letters := unicode.IsLetter(prev) && unicode.IsLetter(next)
	digits := unicode.IsDigit(prev) && unicode.IsDigit(next)
	switch mid {
	case '.':
		return letters || digits
	case '\'', '’':
		return letters
	case ',', ';':
		return digits
	}
	return false
}

// containsPhrase reports whether want occurs as consecutive tokens in have
// (match_phrase with slop 0).
func containsPhrase(have, want []string) bool {
	if len(want) == 0 {
		return false
	}
outer:
	for i := 0; i+len(want) <= len(have); i++ {
		for j, w := range want {
			if have[i+j] != w {
				continue outer
			}
		}
		return true
	}
	return false
}

// globMatch matches s against a pattern where * is any run of characters
// and ? exactly one, as Lucene's wildcard query does.
func globMatch(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// javaString is String.valueOf(value) for a value Jackson deserialised into
// an Object: Integer/Long print as digits, Double as Java prints doubles.
func javaString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if i, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		if f, err := x.Float64(); err == nil {
			return javaDouble(f)
		}
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = javaString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// javaDouble is Double.toString: plain notation with at least one decimal
// between 10^-3 and 10^7, computerized scientific notation outside.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // e.g. 1E+10, 1.5E-05
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
