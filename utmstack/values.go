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
	body := resp.body
	counts, err := parseCounts(body)
	if err != nil {
		// The message quotes the body; say it again from a scrubbed copy
		// in case the body echoes a credential.
		if _, scrubbedErr := parseCounts(c.scrub(body)); scrubbedErr != nil {
			err = scrubbedErr
		} else {
			err = errors.New("expected a JSON object of counts")
		}
		return nil, &Error{Endpoint: endpointValuesWithCount, Status: 200, Err: err}
	}
	return counts, nil
}

// parseCounts reads {"<key>": <count>, ...}: a JSON object of non-negative
// integers. Anything else (an HTML page, an array, strings, fractions) is an
// error that says what was expected. A key given twice counts with its last
// value, as encoding/json reads objects.
func parseCounts(body []byte) (map[string]int64, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, fmt.Errorf("expected a JSON object of counts, got %s", snippet(body))
	}
	// More() misses a stray ] or }; only the end of input will do.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("expected one JSON object of counts, got trailing data after it")
	}
	counts := make(map[string]int64, len(raw))
	for key, v := range raw {
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("count for key %q is %s, expected an integer", truncateKey(key), jsonKind(v))
		}
		i, err := n.Int64()
		if err != nil {
			// Some serialisers write 12.0; accept whole floats only.
			f, ferr := n.Float64()
			if ferr != nil || f != math.Trunc(f) || f < 0 || f > math.MaxInt64/2 {
				return nil, fmt.Errorf("count for key %q is %s, expected a non-negative integer", truncateKey(key), n.String())
			}
			i = int64(f)
		}
		if i < 0 {
			return nil, fmt.Errorf("count for key %q is %d, expected a non-negative integer", truncateKey(key), i)
		}
		counts[key] = i
	}
	return counts, nil
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

func truncateKey(k string) string {
	if len(k) > 40 {
		return k[:40] + "…"
	}
	return k
}
