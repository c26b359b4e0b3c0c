package utmstacktest

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The filters become one OpenSearch bool query (SearchUtil.toQuery, spec
// §4); here it is evaluated over the documents instead. Each operator keeps
// the semantics of the clause UTMStack builds for it:
//
//   IS, IS_NOT, *_ONE_OF       match_phrase: tokens in order on text fields,
//                              exact on .keyword, parsed value on numbers,
//                              booleans and dates
//   CONTAIN, DOES_NOT_CONTAIN  query_string "*escaped value*" (querystring.go):
//                              whitespace splits terms (all must match);
//                              wildcards match lower-cased tokens on text,
//                              the whole value on .keyword (case-sensitive);
//                              nothing elsewhere
//   IS_ONE_OF_TERMS(_OR)       terms: exact, not analyzed
//   EXIST, DOES_NOT_EXIST      exists ("" exists; objects cover sub-fields)
//   IS_(NOT_)BETWEEN           range gte/lte, date math on dates
//   IS_(NOT_)IN_FIELDS         query_string on every field, the value escaped,
//                              terms OR-ed
//   *ENDS_WITH, *START_WITH    wildcard; an error on non-string fields
//   IS_GREATER_THAN, IS_LESS_THAN_OR_EQUALS
//                              range gt/lte with a date format; an error on
//                              non-date fields

type pred func(*document) bool

func never(*document) bool { return false }

// osError is an OpenSearch failure as the Java client reports it.
type osError struct {
	typ, reason string
	// direct errors are the request's own, not wrapped in a shard failure.
	direct bool
}

func (e *osError) Error() string {
	if e.direct || e.typ == "index_not_found_exception" {
		return fmt.Sprintf("Request failed: [%s] %s", e.typ, e.reason)
	}
	return fmt.Sprintf("Request failed: [search_phase_execution_exception] all shards failed; caused by: [%s] %s", e.typ, e.reason)
}

func queryError(format string, args ...any) error {
	return &osError{typ: "query_shard_exception", reason: "failed to create query: " + fmt.Sprintf(format, args...)}
}

// compileQuery builds the predicate of the bool query. Filters must already
// have passed validateFilters.
func compileQuery(fs []*filter, ds *dataset, now time.Time) (pred, error) {
	var must, mustNot, should []pred
	for _, f := range fs {
		p, err := compileFilter(f, ds, now)
		if err != nil {
			return nil, err
		}
		switch f.op {
		case "IS_NOT", "DOES_NOT_CONTAIN", "IS_NOT_ONE_OF", "DOES_NOT_CONTAIN_ONE_OF",
			"DOES_NOT_EXIST", "IS_NOT_BETWEEN", "IS_NOT_IN_FIELDS", "NOT_ENDS_WITH", "NOT_START_WITH":
			mustNot = append(mustNot, p)
		case "IS_ONE_OF_TERMS_OR":
			should = append(should, p) // the outer bool gets minimum_should_match 1
		default:
			must = append(must, p)
		}
	}
	return func(d *document) bool {
		for _, p := range must {
			if !p(d) {
				return false
			}
		}
		for _, p := range mustNot {
			if p(d) {
				return false
			}
		}
		if len(should) == 0 {
			return true
		}
		for _, p := range should {
			if p(d) {
				return true
			}
		}
		return false
	}, nil
}

// compileFilter returns the positive form of a filter's clause; compileQuery
// decides whether it is required or forbidden.
func compileFilter(f *filter, ds *dataset, now time.Time) (pred, error) {
	switch f.op {
	case "IS", "IS_NOT":
		return phraseQuery(ds, f.field, javaString(f.value), now)
	case "CONTAIN", "DOES_NOT_CONTAIN":
		return containQuery(ds, f.field, javaString(f.value), now)
	case "IS_ONE_OF", "IS_NOT_ONE_OF", "CONTAIN_ONE_OF", "DOES_NOT_CONTAIN_ONE_OF":
		return anyOf(f.value.([]any), func(v any) (pred, error) { return phraseQuery(ds, f.field, javaString(v), now) })
	case "IS_ONE_OF_TERMS", "IS_ONE_OF_TERMS_OR":
		return anyOf(f.value.([]any), func(v any) (pred, error) { return termQuery(ds, f.field, v.(string), now) })
	case "EXIST", "DOES_NOT_EXIST":
		return existsQuery(ds, f.field), nil
	case "IS_BETWEEN", "IS_NOT_BETWEEN":
		r := f.value.([]any)
		return rangeQuery(ds, f.field, rangeBounds{lo: r[0], hi: r[1], loIncl: true, hiIncl: true}, now)
	case "IS_GREATER_THAN":
		return rangeQuery(ds, f.field, rangeBounds{lo: f.value, dateFormat: true}, now)
	case "IS_LESS_THAN_OR_EQUALS":
		return rangeQuery(ds, f.field, rangeBounds{hi: f.value, hiIncl: true, dateFormat: true}, now)
	case "IS_IN_FIELDS", "IS_NOT_IN_FIELDS":
		return inFieldsQuery(ds, javaString(f.value), now)
	case "ENDS_WITH", "NOT_ENDS_WITH":
		return wildcardQuery(ds, f.field, "*"+javaString(f.value))
	case "START_WITH", "NOT_START_WITH":
		return wildcardQuery(ds, f.field, javaString(f.value)+"*")
	}
	return nil, fmt.Errorf("operator %s not supported", f.op)
}

func anyOf(values []any, build func(any) (pred, error)) (pred, error) {
	ps := make([]pred, 0, len(values))
	for _, v := range values {
		p, err := build(v)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return func(d *document) bool {
		for _, p := range ps {
			if p(d) {
				return true
			}
		}
		return false
	}, nil
}

func anyValue(f field, fn func(v any) bool) pred {
	return func(d *document) bool {
		for _, v := range d.valuesOf(f) {
			if fn(v) {
				return true
			}
		}
		return false
	}
}

// phraseQuery is match_phrase.
func phraseQuery(ds *dataset, name, s string, now time.Time) (pred, error) {
	f := ds.resolve(name)
	switch f.kind {
	case kindUnmapped:
		return never, nil
	case kindText:
		want := analyze(s)
		if len(want) == 0 {
			return never, nil
		}
		return anyValue(f, func(v any) bool { return containsPhrase(v.(textValue).tokens, want) }), nil
	case kindKeyword:
		return anyValue(f, func(v any) bool { return v.(string) == s }), nil
	}
	return exactQuery(f, s, now)
}

// termQuery is one term of a terms query: never analyzed.
func termQuery(ds *dataset, name, s string, now time.Time) (pred, error) {
	f := ds.resolve(name)
	switch f.kind {
	case kindUnmapped:
		return never, nil
	case kindText:
		return anyValue(f, func(v any) bool { return slices.Contains(v.(textValue).tokens, s) }), nil
	case kindKeyword:
		return anyValue(f, func(v any) bool { return v.(string) == s }), nil
	}
	return exactQuery(f, s, now)
}

// exactQuery matches a parsed value on a long, double, boolean or date field.
func exactQuery(f field, s string, now time.Time) (pred, error) {
	switch f.kind {
	case kindLong, kindDouble:
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, queryError("For input string: \"%s\"", s)
		}
		if f.kind == kindLong && n != math.Trunc(n) {
			return never, nil // a long never equals a value with a decimal part
		}
		return anyValue(f, func(v any) bool { return toFloat(v) == n }), nil
	case kindBool:
		if s != "true" && s != "false" {
			return nil, queryError("Can't parse boolean value [%s], expected [true] or [false]", s)
		}
		return anyValue(f, func(v any) bool { return v.(bool) == (s == "true") }), nil
	case kindDate:
		// A term on a date is a range over the value's own precision.
		lo, err := parseDateMath(s, now, false)
		if err != nil {
			return nil, queryError("%v", err)
		}
		hi, _ := parseDateMath(s, now, true)
		return anyValue(f, func(v any) bool {
			t := v.(time.Time)
			return !t.Before(lo) && !t.After(hi)
		}), nil
	}
	return never, nil
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

// containQuery is query_string {fields:[field], query:"*escaped value*",
// default_operator:AND, lenient:true}.
func containQuery(ds *dataset, name, value string, now time.Time) (pred, error) {
	return queryStringQuery(ds, []field{ds.resolve(name)}, "*"+escapeQueryString(value)+"*", true, now)
}

// inFieldsQuery is query_string {default_field:"*", query:"*escaped value*"}:
// every field, default_operator OR, lenient as a * default field implies.
func inFieldsQuery(ds *dataset, value string, now time.Time) (pred, error) {
	var fields []field
	for _, p := range ds.paths {
		fields = append(fields, ds.resolve(p))
		if ds.kinds[p] == kindText {
			fields = append(fields, ds.resolve(p+".keyword"))
		}
	}
	return queryStringQuery(ds, fields, "*"+escapeQueryString(value)+"*", false, now)
}

// wildcardQuery is a wildcard query; on text fields the pattern goes
// through the analyzer's normalizer (lower case) and meets single tokens.
func wildcardQuery(ds *dataset, name, pattern string) (pred, error) {
	f := ds.resolve(name)
	switch f.kind {
	case kindUnmapped:
		return never, nil
	case kindText:
		lp := strings.ToLower(pattern)
		return anyValue(f, func(v any) bool {
			for _, t := range v.(textValue).tokens {
				if globMatch(lp, t) {
					return true
				}
			}
			return false
		}), nil
	case kindKeyword:
		return anyValue(f, func(v any) bool { return globMatch(pattern, v.(string)) }), nil
	}
	return nil, queryError("Can only use wildcard queries on keyword and text fields - not on [%s] which is of type [%s]", name, f.kind)
}

// existsQuery is an exists query.
func existsQuery(ds *dataset, name string) pred {
	fields := ds.leafFields(name)
	return func(d *document) bool {
		for _, f := range fields {
			if len(d.valuesOf(f)) > 0 {
				return true
			}
		}
		return false
	}
}

type rangeBounds struct {
	lo, hi         any // nil: open
	loIncl, hiIncl bool
	dateFormat     bool // format strict_date_optional_time_nanos was given
}

// rangeQuery is a range query.
func rangeQuery(ds *dataset, name string, b rangeBounds, now time.Time) (pred, error) {
	f := ds.resolve(name)
	if f.kind == kindUnmapped {
		return never, nil
	}
	if b.dateFormat && f.kind != kindDate {
		return nil, queryError("Field [%s] of type [%s] does not support custom formats", name, f.kind)
	}
	switch f.kind {
	case kindDate:
		lo, hi, err := dateBounds(b, now)
		if err != nil {
			return nil, err
		}
		return anyValue(f, func(v any) bool {
			t := v.(time.Time)
			return (lo == nil || t.After(*lo) || b.loIncl && t.Equal(*lo)) &&
				(hi == nil || t.Before(*hi) || b.hiIncl && t.Equal(*hi))
		}), nil
	case kindLong, kindDouble, kindBool:
		lo, err := numberBound(b.lo, f.kind)
		if err != nil {
			return nil, err
		}
		hi, err := numberBound(b.hi, f.kind)
		if err != nil {
			return nil, err
		}
		return anyValue(f, func(v any) bool {
			x := toFloat(v)
			return (lo == nil || x > *lo || b.loIncl && x == *lo) &&
				(hi == nil || x < *hi || b.hiIncl && x == *hi)
		}), nil
	}
	// text and keyword: terms compared as strings
	var lo, hi *string
	if b.lo != nil {
		s := javaString(b.lo)
		lo = &s
	}
	if b.hi != nil {
		s := javaString(b.hi)
		hi = &s
	}
	in := func(s string) bool {
		return (lo == nil || s > *lo || b.loIncl && s == *lo) &&
			(hi == nil || s < *hi || b.hiIncl && s == *hi)
	}
	if f.kind == kindKeyword {
		return anyValue(f, func(v any) bool { return in(v.(string)) }), nil
	}
	return anyValue(f, func(v any) bool {
		for _, t := range v.(textValue).tokens {
			if in(t) {
				return true
			}
		}
		return false
	}), nil
}

func (b rangeBounds) format() string {
	if b.dateFormat {
		return "strict_date_optional_time_nanos"
	}
	return "strict_date_optional_time||epoch_millis"
}

// dateBounds resolves range bounds on a date field. gt and lte round up
// ("now/d" as lte is the end of today), gte and lt round down.
func dateBounds(b rangeBounds, now time.Time) (lo, hi *time.Time, err error) {
	parse := func(v any, roundUp bool) (*time.Time, error) {
		var t time.Time
		var err error
		switch x := v.(type) {
		case nil:
			return nil, nil
		case string:
			t, err = parseDateMath(x, now, roundUp)
		case json.Number:
			// Epoch millis, unless the operator forced a date-only format.
			if ms, e := x.Int64(); e == nil && !b.dateFormat {
				t = time.UnixMilli(ms).UTC()
			} else {
				err = fmt.Errorf("failed to parse date field [%s] with format [%s]", x, b.format())
			}
		default:
			err = fmt.Errorf("failed to parse date field [%v] with format [%s]", x, b.format())
		}
		if err != nil {
			return nil, &osError{typ: "parse_exception", reason: err.Error()}
		}
		return &t, nil
	}
	if lo, err = parse(b.lo, !b.loIncl); err != nil {
		return nil, nil, err
	}
	if hi, err = parse(b.hi, b.hiIncl); err != nil {
		return nil, nil, err
	}
	return lo, hi, nil
}

func numberBound(v any, k fieldKind) (*float64, error) {
	if v == nil {
		return nil, nil
	}
	if k == kindBool {
		switch javaString(v) {
		case "true":
			one := 1.0
			return &one, nil
		case "false":
			zero := 0.0
			return &zero, nil
		}
		return nil, queryError("Can't parse boolean value [%s], expected [true] or [false]", javaString(v))
	}
	s := javaString(v)
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return nil, queryError("For input string: \"%s\"", s)
	}
	return &n, nil
}
