package utmstacktest

import (
	"fmt"
	"strings"
	"time"
)

// CONTAIN, DOES_NOT_CONTAIN, IS_IN_FIELDS and IS_NOT_IN_FIELDS pass their
// value through CustomStringEscapeUtil and send "*<escaped value>*" as a
// query_string query (SearchUtil.buildContainOperator, buildIsInFields).
// UTMStack never refuses a value for its characters, so neither does the
// fake: it escapes as UTMStack does and then reads the string as Lucene's
// classic query parser would. After the escaping, only whitespace and the
// words AND, OR and NOT keep a meaning; the one wildcard left is the * at
// each end.

// escapeQueryString is CustomStringEscapeUtil.openSearchQueryStringEscap.
// Its LookupTranslator tries the longest key first, so "&&" and "||" get
// one backslash for the pair and a lone & or | none; < and > are deleted.
// Every special character is ASCII, so working on bytes keeps UTF-8 intact.
func escapeQueryString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"):
			b.WriteString(`\` + s[i:i+2])
			i++
		case c == '<', c == '>':
		case strings.IndexByte(`+-=!(){}[]^"~*?:\/`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// qsOccur is a clause's BooleanClause.Occur.
type qsOccur int

const (
	occurMust qsOccur = iota
	occurShould
	occurMustNot
)

type qsClause struct {
	p     pred // nil: the analyzer left nothing of the term, so it is no clause
	occur qsOccur
}

// queryStringQuery evaluates q as query_string over fields, with the given
// default_operator, lenient (as both builders are: CONTAIN sets it, and a
// default_field of * implies it). A term's query on a field that cannot take
// it matches nothing instead of failing. Only a syntax error, such as two
// operators in a row, fails the request.
func queryStringQuery(ds *dataset, fields []field, q string, defaultAnd bool, now time.Time) (pred, error) {
	tokens := strings.FieldsFunc(q, isLuceneSpace)
	var clauses []qsClause
	for i := 0; i < len(tokens); i++ {
		conj := ""
		if len(clauses) > 0 && (tokens[i] == "AND" || tokens[i] == "OR") {
			conj = tokens[i]
			i++
		}
		not := i < len(tokens) && tokens[i] == "NOT"
		if not {
			i++
		}
		if i >= len(tokens) || tokens[i] == "AND" || tokens[i] == "OR" || tokens[i] == "NOT" {
			return nil, &osError{typ: "query_shard_exception", reason: fmt.Sprintf("Failed to parse query [%s]", q)}
		}
		clauses = addClause(clauses, conj, not, defaultAnd, termQueryString(ds, fields, tokens[i], defaultAnd, now))
	}
	return booleanQuery(clauses), nil
}

// isLuceneSpace is the classic query parser's _WHITESPACE.
func isLuceneSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u3000'
}

// addClause is QueryParserBase.addClause: a conjunction can change the
// occur of the clause before it, even when the new term is dropped.
func addClause(clauses []qsClause, conj string, not, defaultAnd bool, p pred) []qsClause {
	if n := len(clauses); n > 0 && clauses[n-1].occur != occurMustNot {
		switch {
		case conj == "AND":
			clauses[n-1].occur = occurMust
		case conj == "OR" && defaultAnd:
			clauses[n-1].occur = occurShould
		}
	}
	if p == nil {
		return clauses
	}
	occur := occurShould
	switch {
	case not:
		occur = occurMustNot
	case defaultAnd && conj != "OR", !defaultAnd && conj == "AND":
		occur = occurMust
	}
	return append(clauses, qsClause{p: p, occur: occur})
}

// booleanQuery matches as Lucene's BooleanQuery does (minimum_should_match
// 0): every MUST, no MUST_NOT, and one SHOULD when there is no MUST. No
// clause at all matches nothing; only MUST_NOT clauses match everything
// else (Queries.fixNegativeQueryIfNeeded).
func booleanQuery(clauses []qsClause) pred {
	if len(clauses) == 0 {
		return never
	}
	var must, should, mustNot []pred
	for _, c := range clauses {
		switch c.occur {
		case occurMust:
			must = append(must, c.p)
		case occurShould:
			should = append(should, c.p)
		default:
			mustNot = append(mustNot, c.p)
		}
	}
	return func(d *document) bool {
		for _, p := range mustNot {
			if p(d) {
				return false
			}
		}
		for _, p := range must {
			if !p(d) {
				return false
			}
		}
		if len(must) > 0 || len(should) == 0 {
			return true
		}
		for _, p := range should {
			if p(d) {
				return true
			}
		}
		return false
	}
}

// termQueryString is one term over the fields (a dis_max: any field), or
// nil when no field has a query for it.
func termQueryString(ds *dataset, fields []field, image string, defaultAnd bool, now time.Time) pred {
	var ps []pred
	for _, f := range fields {
		if p := termOnField(ds, f, image, defaultAnd, now); p != nil {
			ps = append(ps, p)
		}
	}
	switch len(ps) {
	case 0:
		return nil
	case 1:
		return ps[0]
	}
	return func(d *document) bool {
		for _, p := range ps {
			if p(d) {
				return true
			}
		}
		return false
	}
}

// termOnField is the query one term makes on one field. A term with an
// unescaped * or ? is a wildcard (or prefix) query: lower-cased for text
// fields and matched against single tokens, as written against a keyword's
// whole value, nothing on other types. A lone * is an exists query. Other
// terms are unescaped and analyzed: their tokens on text (all of them with
// default_operator AND, any with OR; nil when there are none), the exact
// value on keyword, the parsed value on numbers, booleans and dates.
func termOnField(ds *dataset, f field, image string, defaultAnd bool, now time.Time) pred {
	if f.kind == kindUnmapped {
		return never
	}
	if image == "*" {
		return existsQuery(ds, f.name)
	}
	if hasWildcard(image) {
		switch f.kind {
		case kindText:
			lower := strings.ToLower(image)
			return anyValue(f, func(v any) bool {
				for _, t := range v.(textValue).tokens {
					if escapedGlobMatch(lower, t) {
						return true
					}
				}
				return false
			})
		case kindKeyword:
			return anyValue(f, func(v any) bool { return escapedGlobMatch(image, v.(string)) })
		}
		return never
	}
	text := unescapeQueryString(image)
	switch f.kind {
	case kindText:
		want := analyze(text)
		if len(want) == 0 {
			return nil
		}
		return func(d *document) bool {
			have := map[string]bool{}
			for _, v := range d.valuesOf(f) {
				for _, t := range v.(textValue).tokens {
					have[t] = true
				}
			}
			for _, w := range want {
				if have[w] != defaultAnd {
					return !defaultAnd
				}
			}
			return defaultAnd
		}
	case kindKeyword:
		return anyValue(f, func(v any) bool { return v.(string) == text })
	}
	p, err := exactQuery(f, text, now)
	if err != nil {
		return never // lenient
	}
	return p
}

// hasWildcard reports an unescaped * or ?.
func hasWildcard(image string) bool {
	for i := 0; i < len(image); i++ {
		switch image[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		}
	}
	return false
}

// unescapeQueryString is QueryParserBase.discardEscapeChar.
func unescapeQueryString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escapedGlobMatch is globMatch with WildcardQuery's escape: \x stands for
// x itself, so an escaped * or ? is no wildcard.
func escapedGlobMatch(pattern, s string) bool {
	type unit struct {
		r       rune
		literal bool
	}
	var p []unit
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		if rs[i] == '\\' && i+1 < len(rs) {
			i++
			p = append(p, unit{rs[i], true})
			continue
		}
		p = append(p, unit{rs[i], false})
	}
	t := []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && !p[pi].literal && p[pi].r == '*':
			star, mark = pi, ti
			pi++
		case pi < len(p) && (!p[pi].literal && p[pi].r == '?' || p[pi].r == t[ti]):
			pi++
			ti++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && !p[pi].literal && p[pi].r == '*' {
		pi++
	}
	return pi == len(p)
}
