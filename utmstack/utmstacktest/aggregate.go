package utmstacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// POST /api/elasticsearch/property/values-with-count (spec §5.1):
// ElasticsearchResource.getFieldValuesWithCount → opensearch-connector
// getFieldValues: one search with size 0 and a terms aggregation on field.

const valuesWithCountCtx = "ElasticsearchResource.getFieldValuesWithCount: "

func (s *Server) handleValuesWithCount(w http.ResponseWriter, r *http.Request) {
	body, _, fail := readJSON(r, false)
	if fail != nil {
		s.mvcError(w, r, fail.status, fail.msg)
		return
	}
	rq, fail := s.decodeValuesWithCount(body)
	if fail != nil {
		s.mvcError(w, r, fail.status, fail.msg)
		return
	}
	if rq.index == nil { // @NotNull
		s.validationError(w, r, []fieldError{{ObjectName: "propertyValuesWithCountRequest", Field: "index", Message: "must not be null"}})
		return
	}
	buckets, err := s.fieldValues(rq)
	if err != nil {
		utmError(w, http.StatusInternalServerError, valuesWithCountCtx+err.Error())
		return
	}
	// A LinkedHashMap: keys in bucket order.
	var out bytes.Buffer
	out.WriteByte('{')
	for i, b := range buckets {
		if i > 0 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(b.key)
		out.Write(k)
		out.WriteByte(':')
		out.WriteString(strconv.Itoa(b.count))
	}
	out.WriteByte('}')
	writeRawJSON(w, http.StatusOK, out.Bytes())
}

type valuesWithCountRequest struct {
	filters      []*filter
	field        *string
	index        *string
	top          *int64
	orderByCount bool
	sortAsc      bool
}

func (s *Server) decodeValuesWithCount(v any) (*valuesWithCountRequest, *mvcFailure) {
	m, fail := jsonObject(v, "com.park.utmstack.web.rest.elasticsearch.ElasticsearchResource$PropertyValuesWithCountRequest")
	if fail != nil {
		return nil, fail
	}
	rq := &valuesWithCountRequest{}
	if rq.filters, fail = s.decodeFilters(m["filters"]); fail != nil {
		return nil, fail
	}
	for _, p := range []struct {
		name string
		dst  **string
	}{{"field", &rq.field}, {"index", &rq.index}} {
		str, null, fail := jString(m[p.name], p.name)
		if fail != nil {
			return nil, fail
		}
		if !null {
			*p.dst = &str
		}
	}
	top, null, fail := jInteger(m["top"], "top")
	if fail != nil {
		return nil, fail
	}
	if !null {
		rq.top = &top
	}
	if rq.orderByCount, _, fail = jBool(m["orderByCount"], "orderByCount"); fail != nil {
		return nil, fail
	}
	if rq.sortAsc, _, fail = jBool(m["sortAsc"], "sortAsc"); fail != nil {
		return nil, fail
	}
	return rq, nil
}

type bucket struct {
	key   string
	sort  any // typed key for ordering: string, float64
	count int
}

// fieldValues runs the service and connector steps in their order:
// SearchUtil.toQuery, the connector's argument checks, then the search.
func (s *Server) fieldValues(rq *valuesWithCountRequest) ([]bucket, error) {
	const ctx = "ElasticsearchService.getFieldValuesWithCount: "
	if err := validateFilters(rq.filters); err != nil {
		return nil, fmt.Errorf("%s%w", ctx, err)
	}
	if rq.field == nil || strings.TrimSpace(*rq.field) == "" {
		return nil, fmt.Errorf("%sOpenSearch.getFieldValues: The Field parameter must not be null or empty", ctx)
	}
	if strings.TrimSpace(*rq.index) == "" {
		return nil, fmt.Errorf("%sOpenSearch.getFieldValues: The Index parameter must not be null or empty", ctx)
	}
	size := int64(5)
	if rq.top != nil {
		size = *rq.top
	}
	if size <= 0 {
		return nil, fmt.Errorf("%sOpenSearch.getFieldValues: %w", ctx, &osError{typ: "x_content_parse_exception", reason: fmt.Sprintf("[size] must be greater than 0. Found [%d] in [field_values]", size)})
	}
	docs, ds, err := s.search(rq.filters, *rq.index)
	if err != nil {
		return nil, fmt.Errorf("%sOpenSearch.getFieldValues: %w", ctx, err)
	}
	if ds == nil {
		return nil, nil // the pattern matched no index
	}
	buckets, err := termsAggregation(ds, docs, *rq.field)
	if err != nil {
		return nil, fmt.Errorf("%sOpenSearch.getFieldValues: %w", ctx, err)
	}
	sortBuckets(buckets, rq.orderByCount, rq.sortAsc)
	if int64(len(buckets)) > size {
		buckets = buckets[:size]
	}
	return buckets, nil
}

// search evaluates the filters over the documents of the index pattern.
// ds is nil when the pattern matches no index.
func (s *Server) search(fs []*filter, index string) ([]*document, *dataset, error) {
	s.mu.Lock()
	ds := s.data
	s.mu.Unlock()
	ok, err := s.indexMatches(index)
	if err != nil || !ok {
		return nil, nil, err
	}
	p, err := compileQuery(fs, ds, s.now())
	if err != nil {
		return nil, nil, err
	}
	var out []*document
	for _, d := range ds.docs {
		if p(d) {
			out = append(out, d)
		}
	}
	return out, ds, nil
}

// indexMatches resolves a comma-separated index expression against the one
// alert index. A wildcard matching nothing is fine (allow_no_indices); a
// missing concrete index is index_not_found_exception.
func (s *Server) indexMatches(expr string) (bool, error) {
	pattern := s.opts.IndexPattern
	concrete := strings.ReplaceAll(pattern, "*", "2025.11")
	matched := false
	for _, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "" || strings.HasPrefix(part, "-"):
		case part == pattern || part == "_all" || globMatch(part, concrete):
			matched = true
		case !strings.Contains(part, "*"):
			return false, &osError{typ: "index_not_found_exception", reason: "no such index [" + part + "]"}
		}
	}
	return matched, nil
}

// termsAggregation counts, per distinct value of field, the documents
// holding it (each document once per value). Buckets come out unsorted.
func termsAggregation(ds *dataset, docs []*document, name string) ([]bucket, error) {
	f := ds.resolve(name)
	switch f.kind {
	case kindUnmapped:
		return nil, nil
	case kindText:
		return nil, &osError{typ: "illegal_argument_exception", reason: fmt.Sprintf(
			"Fielddata is disabled on text fields by default. Set fielddata=true on [%s] in order to load fielddata in memory by uninverting the inverted index. Note that this can however use significant memory. Alternatively use a keyword field instead.", name)}
	}
	index := map[string]*bucket{}
	var out []*bucket
	for _, d := range docs {
		seen := map[string]bool{}
		for _, v := range d.valuesOf(f) {
			key, sortKey := bucketKey(v)
			if seen[key] {
				continue
			}
			seen[key] = true
			b := index[key]
			if b == nil {
				b = &bucket{key: key, sort: sortKey}
				index[key] = b
				out = append(out, b)
			}
			b.count++
		}
	}
	res := make([]bucket, len(out))
	for i, b := range out {
		res[i] = *b
	}
	return res, nil
}

// bucketKey is the key TermAggregateParser reports: the term itself for
// strings, the number for longs, key_as_string for booleans and dates, and
// Java's Double.toString for doubles.
func bucketKey(v any) (string, any) {
	switch x := v.(type) {
	case string:
		return x, x
	case int64:
		return strconv.FormatInt(x, 10), float64(x)
	case float64:
		return javaDouble(x), x
	case bool:
		if x {
			return "true", 1.0
		}
		return "false", 0.0
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z"), float64(x.UnixMilli())
	}
	return fmt.Sprint(v), fmt.Sprint(v)
}

// sortBuckets applies order {"_count"|"_key": asc|desc}; OpenSearch breaks
// count ties by key ascending.
func sortBuckets(bs []bucket, byCount, asc bool) {
	keyLess := func(a, b bucket) bool {
		if x, ok := a.sort.(float64); ok {
			return x < b.sort.(float64)
		}
		return a.sort.(string) < b.sort.(string)
	}
	sort.SliceStable(bs, func(i, j int) bool {
		a, b := bs[i], bs[j]
		if byCount && a.count != b.count {
			if asc {
				return a.count < b.count
			}
			return a.count > b.count
		}
		if byCount || asc {
			return keyLess(a, b)
		}
		return keyLess(b, a)
	})
}
