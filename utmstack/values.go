package utmstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// ValuesRequest is the body of POST /api/elasticsearch/property/values-with-count:
// one terms aggregation over the documents the filters match.
type ValuesRequest struct {
	Index   string   // index pattern, e.g. v11-alert-*
	Field   string   // aggregated field; string fields need their .keyword
	Filters []Filter // may be empty: match all
	Top     int      // number of buckets; always sent, UTMStack's default is 5
}

const endpointValuesWithCount = "values_with_count"

// ValuesWithCount returns the bucket counts keyed by the field's values as
// strings (numeric fields give "1", "2", ...). The counts are exact: they are
// aggregation doc_counts, not the 10 000-capped X-Total-Count.
func (c *Client) ValuesWithCount(ctx context.Context, req ValuesRequest) (map[string]int64, error) {
	if req.Top < 1 {
		return nil, fmt.Errorf("values-with-count: top must be at least 1, got %d", req.Top)
	}
	filters := req.Filters
	if filters == nil {
		filters = []Filter{}
	}
	payload, err := json.Marshal(struct {
		Field        string   `json:"field"`
		Index        string   `json:"index"`
		Filters      []Filter `json:"filters"`
		Top          int      `json:"top"`
		OrderByCount bool     `json:"orderByCount"`
		SortAsc      bool     `json:"sortAsc"`
	}{req.Field, req.Index, filters, req.Top, true, false})
	if err != nil {
		return nil, fmt.Errorf("values-with-count: encoding request: %w", err)
	}
	resp, err := c.call(ctx, apiCall{endpoint: endpointValuesWithCount, path: "/api/elasticsearch/property/values-with-count", payload: payload})
	if err != nil {
		return nil, err
	}
	counts, err := parseCounts(resp.body, req.Top)
	if err != nil {
		return nil, &Error{Endpoint: endpointValuesWithCount, Status: 200, Err: c.countsError(ctx, resp.body, req.Top, err)}
	}
	return counts, nil
}

// countsError is what to say of an answer parseCounts refused with err.
// err may quote the body, which may echo a credential: it is said again
// from a scrubbed copy, unless the scrape's time is up, when a fixed
// message costs no second reading.
func (c *Client) countsError(ctx context.Context, body []byte, top int, err error) error {
	var tooMany errTooManyBuckets
	if errors.As(err, &tooMany) {
		return err // quotes nothing of the body
	}
	if context.Cause(ctx) == nil {
		if _, scrubbedErr := parseCounts(c.scrub(body), top); scrubbedErr != nil {
			return scrubbedErr
		}
	}
	return fmt.Errorf("expected a JSON object of at most %d integer counts", top)
}

// maxCount bounds a bucket's count: 2^53, the largest integer a float64
// (a Prometheus sample) holds exactly, and far beyond any SIEM. Sums of
// such counts cannot overflow an int64 either.
const maxCount = 1 << 53

// parseCounts reads {"<key>": <count>, ...}: a JSON object of at most top
// non-negative integers (a terms aggregation never answers more buckets
// than asked). Anything else (an HTML page, an array, strings, fractions,
// more keys, a count past maxCount) is an error that says what was
// expected. It reads the object as a stream and stops at the first key
// too many, so an answer of a million buckets costs neither time nor
// memory. A key given twice counts with its last value, as encoding/json
// reads objects.
func parseCounts(body []byte, top int) (map[string]int64, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	notObject := func() error { return fmt.Errorf("expected a JSON object of counts, got %s", snippet(body)) }
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, notObject()
	}
	counts := map[string]int64{}
	var sum int64
	for pairs := 0; ; pairs++ {
		tok, err := dec.Token()
		if err != nil {
			return nil, notObject()
		}
		if tok == json.Delim('}') {
			break
		}
		if pairs >= top {
			return nil, errTooManyBuckets(top)
		}
		key, _ := tok.(string) // an object's tokens alternate key, value
		if tok, err = dec.Token(); err != nil {
			return nil, notObject()
		}
		n, err := countOf(key, tok)
		if err != nil {
			return nil, err
		}
		sum -= counts[key] // a repeated key replaces its count
		if sum += n; sum > math.MaxInt64-maxCount {
			return nil, fmt.Errorf("expected counts whose total fits an int64")
		}
		counts[key] = n
	}
	// More() misses a stray ] or }; only the end of input will do.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("expected one JSON object of counts, got trailing data after it")
	}
	return counts, nil
}

// errTooManyBuckets is an answer with more buckets than the top asked for.
type errTooManyBuckets int

func (e errTooManyBuckets) Error() string {
	return fmt.Sprintf("expected at most %d buckets (the top asked for), got more", int(e))
}

// countOf reads one bucket's count token.
func countOf(key string, tok json.Token) (int64, error) {
	if d, ok := tok.(json.Delim); ok {
		kind := "an object"
		if d == '[' {
			kind = "an array"
		}
		return 0, fmt.Errorf("count for key %q is %s, expected an integer", truncateKey(key), kind)
	}
	n, ok := tok.(json.Number)
	if !ok {
		return 0, fmt.Errorf("count for key %q is %s, expected an integer", truncateKey(key), jsonKind(tok))
	}
	i, err := n.Int64()
	if err != nil {
		// Some serialisers write 12.0; accept whole floats only.
		f, ferr := n.Float64()
		if ferr != nil || f != math.Trunc(f) || f < 0 || f > maxCount {
			return 0, fmt.Errorf("count for key %q is %s, expected a non-negative integer up to 2^53", truncateKey(key), n.String())
		}
		i = int64(f)
	}
	if i < 0 || i > maxCount {
		return 0, fmt.Errorf("count for key %q is %d, expected a non-negative integer up to 2^53", truncateKey(key), i)
	}
	return i, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// truncateKey is a key or value of an answer fit for an error message:
// its first 40 bytes, marked as cut.
func truncateKey(k string) string {
	if cut, wasCut := cutText(k, 40); wasCut {
		return cut + "…"
	}
	return k
}
