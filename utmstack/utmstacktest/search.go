package utmstacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// POST /api/elasticsearch/search (spec §4): a bare array of _source maps,
// X-Total-Count = min(total, 10000, top) and a relative Link header, nothing
// of both on zero hits. page 0 and 1 are both the first page.

const (
	maxResultWindow = 10000 // index.max_result_window, also the total cap
	defaultPageSize = 20
	maxPageSize     = 2000
)

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	// Arguments resolve in declaration order: body, top, indexPattern,
	// includeChildren, pageable.
	body, _, fail := readJSON(r, true)
	if fail != nil {
		s.mvcError(w, r, fail.status, fail.msg)
		return
	}
	filters, fail := s.decodeFilters(body)
	if fail != nil {
		s.mvcError(w, r, fail.status, fail.msg)
		return
	}
	q := r.URL.Query()
	top, fail := requiredInt(q, "top")
	if fail != nil {
		s.mvcError(w, r, fail.status, fail.msg)
		return
	}
	if _, ok := q["indexPattern"]; !ok {
		s.mvcError(w, r, http.StatusBadRequest, "Required request parameter 'indexPattern' for method parameter type String is not present")
		return
	}
	indexPattern := q.Get("indexPattern")
	includeChildren, fail := optionalBool(q, "includeChildren")
	if fail != nil {
		s.mvcError(w, r, fail.status, fail.msg)
		return
	}
	page, size := pageable(q)

	docs, headers, err := s.searchPage(filters, top, indexPattern, page, size, q["sort"])
	if err != nil {
		utmError(w, http.StatusInternalServerError, "ElasticsearchResource.search: ElasticsearchService.search: "+err.Error())
		return
	}
	var out bytes.Buffer
	out.WriteByte('[')
	for i, d := range docs {
		if i > 0 {
			out.WriteByte(',')
		}
		src := d.source
		if includeChildren {
			src = s.withEchoes(src)
		}
		out.Write(src)
	}
	out.WriteByte(']')
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	writeRawJSON(w, http.StatusOK, out.Bytes())
}

func (s *Server) searchPage(fs []*filter, top int, index string, page, size int, sorts []string) ([]*document, map[string]string, error) {
	if err := validateFilters(fs); err != nil {
		return nil, nil, err
	}
	// SearchUtil.applyPaginationAndSort
	from := size*max(page, 1) - size
	n := size
	if from+size > top {
		n = top - from
	}
	if n < 0 {
		return nil, nil, &osError{typ: "illegal_argument_exception", reason: fmt.Sprintf("[size] parameter cannot be negative, found [%d]", n), direct: true}
	}
	docs, ds, err := s.search(fs, index)
	if err != nil || ds == nil {
		return nil, nil, err
	}
	if from+n > maxResultWindow {
		return nil, nil, &osError{typ: "illegal_argument_exception", reason: fmt.Sprintf("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.", maxResultWindow, from+n)}
	}
	if err := sortDocs(ds, docs, sorts); err != nil {
		return nil, nil, err
	}
	total := min(len(docs), maxResultWindow) // track_total_hits default
	if total == 0 {
		return nil, nil, nil
	}
	end := min(from+n, len(docs))
	var pageDocs []*document
	if from < end {
		pageDocs = docs[from:end]
	}
	return pageDocs, paginationHeaders(int64(min(total, top)), page, size, "/api/elasticsearch/search"), nil
}

// paginationHeaders is UtilPagination.generatePaginationHttpHeaders.
func paginationHeaders(total int64, page, size int, base string) map[string]string {
	pages := total / int64(size)
	if total%int64(size) != 0 {
		pages++
	}
	uri := func(p int64) string { return fmt.Sprintf("%s?page=%d&size=%d", base, p, size) }
	link := ""
	if int64(page)+1 < pages {
		link = "<" + uri(int64(page)+1) + ">; rel=\"next\","
	}
	if page > 0 {
		link += "<" + uri(int64(page)-1) + ">; rel=\"prev\","
	}
	last := int64(0)
	if pages > 0 {
		last = pages - 1
	}
	link += "<" + uri(last) + ">; rel=\"last\","
	link += "<" + uri(0) + ">; rel=\"first\""
	return map[string]string{"X-Total-Count": strconv.FormatInt(total, 10), "Link": link}
}

// pageable is Spring Data's PageableHandlerMethodArgumentResolver: bad
// numbers fall back to the defaults, size is clamped to [1, 2000].
func pageable(q url.Values) (page, size int) {
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 0 {
		page = 0
	}
	size, err = strconv.Atoi(q.Get("size"))
	if err != nil || size < 1 {
		size = defaultPageSize
	}
	return page, min(size, maxPageSize)
}

func requiredInt(q url.Values, name string) (int, *mvcFailure) {
	vs, ok := q[name]
	if !ok {
		return 0, &mvcFailure{status: http.StatusBadRequest, msg: "Required request parameter '" + name + "' for method parameter type Integer is not present"}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 32)
	if err != nil {
		return 0, &mvcFailure{status: http.StatusBadRequest, msg: fmt.Sprintf("Failed to convert value of type 'java.lang.String' to required type 'java.lang.Integer'; nested exception is java.lang.NumberFormatException: For input string: \"%s\"", vs[0])}
	}
	return int(n), nil
}

func optionalBool(q url.Values, name string) (bool, *mvcFailure) {
	switch strings.ToLower(strings.TrimSpace(q.Get(name))) {
	case "", "false", "off", "no", "0":
		return false, nil
	case "true", "on", "yes", "1":
		return true, nil
	}
	return false, &mvcFailure{status: http.StatusBadRequest, msg: fmt.Sprintf("Failed to convert value of type 'java.lang.String' to required type 'boolean'; nested exception is java.lang.IllegalArgumentException: Invalid boolean value [%s]", q.Get(name))}
}

// sortDocs applies sort=field[,asc|desc] parameters; without any, the
// documents keep index order (every hit scores the same).
func sortDocs(ds *dataset, docs []*document, params []string) error {
	type key struct {
		f    field
		desc bool
	}
	var keys []key
	for _, p := range params {
		parts := strings.Split(p, ",")
		desc := false
		if last := strings.ToLower(strings.TrimSpace(parts[len(parts)-1])); len(parts) > 1 && (last == "asc" || last == "desc") {
			desc = last == "desc"
			parts = parts[:len(parts)-1]
		}
		for _, name := range parts {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			f := ds.resolve(name)
			switch f.kind {
			case kindUnmapped:
				return &osError{typ: "query_shard_exception", reason: "No mapping found for [" + name + "] in order to sort on"}
			case kindText:
				return &osError{typ: "illegal_argument_exception", reason: fmt.Sprintf("Fielddata is disabled on text fields by default. Set fielddata=true on [%s] in order to load fielddata in memory by uninverting the inverted index. Note that this can however use significant memory. Alternatively use a keyword field instead.", name)}
			}
			keys = append(keys, key{f, desc})
		}
	}
	// Multi-valued fields sort by their minimum ascending, maximum
	// descending; documents without a value go last either way.
	sortValue := func(d *document, k key) (any, bool) {
		var best any
		for _, v := range d.valuesOf(k.f) {
			_, sv := bucketKey(v)
			if best == nil || less(sv, best) != k.desc {
				best = sv
			}
		}
		return best, best != nil
	}
	sort.SliceStable(docs, func(i, j int) bool {
		for _, k := range keys {
			a, okA := sortValue(docs[i], k)
			b, okB := sortValue(docs[j], k)
			switch {
			case !okA && !okB:
				continue
			case !okA || !okB:
				return okA
			case less(a, b):
				return !k.desc
			case less(b, a):
				return k.desc
			}
		}
		return false
	})
	return nil
}

func less(a, b any) bool {
	if x, ok := a.(float64); ok {
		return x < b.(float64)
	}
	return a.(string) < b.(string)
}

// withEchoes adds what includeChildren adds: the number of documents whose
// parentId is this document's id.
func (s *Server) withEchoes(src json.RawMessage) json.RawMessage {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if dec.Decode(&m) != nil || m["id"] == nil {
		return src
	}
	s.mu.Lock()
	ds := s.data
	s.mu.Unlock()
	n := 0
	if p, err := phraseQuery(ds, "parentId", javaString(m["id"]), s.now()); err == nil {
		for _, d := range ds.docs {
			if p(d) {
				n++
			}
		}
	}
	m["hasChildren"] = n > 0
	m["echoes"] = n
	out, _ := json.Marshal(m)
	return out
}

// GET /api/utm-alerts/count-open-alerts: AlertUtil.countAlertsByStatus(2),
// a value_count on status over the alert index; 0 when there is none.
func (s *Server) handleCountOpenAlerts(w http.ResponseWriter, _ *http.Request) {
	fs := []*filter{
		{op: "IS", field: "status", value: json.Number("2")},
		{op: "DOES_NOT_CONTAIN", field: "tags", value: "False positive"},
	}
	if s.opts.Edition == EditionCurrent {
		fs = append(fs, &filter{op: "DOES_NOT_EXIST", field: "parentId.keyword"})
	}
	docs, ds, err := s.search(fs, s.opts.IndexPattern)
	if err != nil {
		utmError(w, http.StatusInternalServerError, "UtmAlertResource.countOpenAlerts: "+err.Error())
		return
	}
	n := 0
	if ds != nil {
		f := ds.resolve("status")
		for _, d := range docs {
			n += len(d.valuesOf(f))
		}
	}
	writeRawJSON(w, http.StatusOK, []byte(strconv.Itoa(n)))
}
