package utmstacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The alert index has no explicit mapping (spec §6), so OpenSearch's dynamic
// mapping decides every field's type from the first value it sees: strings
// become text with a .keyword sub-field (ignore_above 256) unless they look
// like a date, integers become long, other numbers double, booleans boolean.
// The fake does the same once per SetAlerts.

type fieldKind int

const (
	kindUnmapped fieldKind = iota
	kindText
	kindKeyword // the .keyword sub-field of a text field
	kindLong
	kindDouble
	kindBool
	kindDate
)

func (k fieldKind) String() string {
	return [...]string{"unmapped", "text", "keyword", "long", "float", "boolean", "date"}[k]
}

// keywordIgnoreAbove is dynamic mapping's ignore_above for .keyword.
const keywordIgnoreAbove = 256

// textValue is one value of a text field with its analyzed tokens.
type textValue struct {
	s      string
	tokens []string
}

// document is one indexed alert.
type document struct {
	source json.RawMessage
	// values holds the indexed values of every leaf path: textValue,
	// int64, float64, bool or time.Time according to the field's kind.
	values map[string][]any
}

// dataset is an immutable snapshot of the alerts and their mapping.
type dataset struct {
	docs  []*document
	kinds map[string]fieldKind // leaf path -> kind (never kindKeyword)
	paths []string             // sorted leaf paths
}

// field is a request's field name resolved against the mapping.
type field struct {
	name string
	path string // leaf path holding the values
	kind fieldKind
}

func (ds *dataset) resolve(name string) field {
	if k, ok := ds.kinds[name]; ok {
		return field{name: name, path: name, kind: k}
	}
	if base, ok := strings.CutSuffix(name, ".keyword"); ok && ds.kinds[base] == kindText {
		return field{name: name, path: base, kind: kindKeyword}
	}
	return field{name: name, kind: kindUnmapped}
}

// valuesOf returns a document's indexed values for f.
func (d *document) valuesOf(f field) []any {
	vs := d.values[f.path]
	if f.kind != kindKeyword {
		return vs
	}
	out := make([]any, 0, len(vs))
	for _, v := range vs {
		if s := v.(textValue).s; utf8.RuneCountInString(s) <= keywordIgnoreAbove {
			out = append(out, s)
		}
	}
	return out
}

// leafFields returns every field a name covers: itself when it is a leaf or a
// .keyword sub-field, all leaves below it when it names an object, and the
// matching fields when it holds a * wildcard.
func (ds *dataset) leafFields(name string) []field {
	if f := ds.resolve(name); f.kind != kindUnmapped {
		return []field{f}
	}
	var out []field
	for _, p := range ds.paths {
		if strings.Contains(name, "*") {
			if globMatch(name, p) {
				out = append(out, ds.resolve(p))
			}
			if ds.kinds[p] == kindText && globMatch(name, p+".keyword") {
				out = append(out, ds.resolve(p+".keyword"))
			}
		} else if strings.HasPrefix(p, name+".") {
			out = append(out, ds.resolve(p))
		}
	}
	return out
}

// newDataset indexes alerts. It panics on an alert that is not JSON
// encodable: that is a bug in the test that built it.
func newDataset(alerts []Alert) *dataset {
	type leaf struct {
		path string
		v    any
	}
	ds := &dataset{kinds: map[string]fieldKind{}}
	leaves := make([][]leaf, len(alerts))
	for i, a := range alerts {
		raw, err := json.Marshal(a)
		if err != nil {
			panic(fmt.Sprintf("utmstacktest: alert %d is not JSON: %v", i, err))
		}
		var src any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&src); err != nil {
			panic(fmt.Sprintf("utmstacktest: alert %d: %v", i, err))
		}
		ds.docs = append(ds.docs, &document{source: raw, values: map[string][]any{}})
		flatten("", src, func(p string, v any) {
			leaves[i] = append(leaves[i], leaf{p, v})
			if _, seen := ds.kinds[p]; !seen {
				ds.kinds[p] = detectKind(v)
			}
		})
	}
	for p := range ds.kinds {
		ds.paths = append(ds.paths, p)
	}
	sort.Strings(ds.paths)
	for i, ls := range leaves {
		d := ds.docs[i]
		for _, l := range ls {
			if v, ok := coerce(ds.kinds[l.path], l.v); ok {
				d.values[l.path] = append(d.values[l.path], v)
			}
		}
	}
	return ds
}

// flatten calls fn for every non-null scalar, with its dotted path. Arrays
// add values to the same path, as OpenSearch does.
func flatten(prefix string, v any, fn func(path string, v any)) {
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for k, c := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, c, fn)
		}
	case []any:
		for _, c := range x {
			flatten(prefix, c, fn)
		}
	default:
		if prefix != "" {
			fn(prefix, x)
		}
	}
}

func detectKind(v any) fieldKind {
	switch x := v.(type) {
	case bool:
		return kindBool
	case json.Number:
		if _, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return kindLong
		}
		return kindDouble
	case string:
		// date_detection with strict_date_optional_time; a full
		// calendar date is required so that ids and years stay text.
		if len(x) >= 10 && x[4] == '-' && x[7] == '-' {
			if _, _, err := parseDateString(x); err == nil {
				return kindDate
			}
		}
	}
	return kindText
}

// coerce converts a source value to the field's kind. Values OpenSearch
// would reject are dropped.
func coerce(k fieldKind, v any) (any, bool) {
	switch k {
	case kindText:
		s := scalarText(v)
		return textValue{s: s, tokens: analyze(s)}, true
	case kindLong:
		if f, ok := scalarNumber(v); ok {
			return int64(f), true
		}
	case kindDouble:
		if f, ok := scalarNumber(v); ok {
			return f, true
		}
	case kindBool:
		switch x := v.(type) {
		case bool:
			return x, true
		case string:
			if x == "true" || x == "false" {
				return x == "true", true
			}
		}
	case kindDate:
		switch x := v.(type) {
		case string:
			if t, _, err := parseDateString(x); err == nil {
				return t, true
			}
		case json.Number:
			if ms, err := x.Int64(); err == nil {
				return time.UnixMilli(ms).UTC(), true
			}
		}
	}
	return nil, false
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

func scalarNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}
