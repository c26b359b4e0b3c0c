package utmstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const endpointSearch = "search"

// AlertTime returns the @timestamp of the oldest (oldest true) or newest
// alert the filters match, read from one document of
// POST /api/elasticsearch/search sorted by @timestamp. found is false when
// no alert matches. Echoes are never included (no includeChildren).
func (c *Client) AlertTime(ctx context.Context, index string, filters []Filter, oldest bool) (t time.Time, found bool, err error) {
	if filters == nil {
		filters = []Filter{}
	}
	payload, err := json.Marshal(filters)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("search: encoding filters: %w", err)
	}
	order := "desc"
	if oldest {
		order = "asc"
	}
	// page 1 is the first page (page 0 too); top caps the hits at one.
	q := url.Values{"page": {"1"}, "size": {"1"}, "top": {"1"}, "indexPattern": {index}, "sort": {"@timestamp," + order}}
	resp, err := c.call(ctx, apiCall{endpoint: endpointSearch, path: "/api/elasticsearch/search?" + q.Encode(), payload: payload})
	var callErr *Error
	if errors.As(err, &callErr) && callErr.Status == http.StatusInternalServerError &&
		strings.Contains(callErr.UTMStackError, "No mapping found for [@timestamp] in order to sort on") {
		// The indices have no @timestamp mapped: no alert was ever written
		// to them (OpenSearch maps the field with the first alert).
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	t, found, err = parseAlertTime(resp.body)
	if err != nil {
		// The message quotes the body: say it from a scrubbed copy, in
		// case the answer echoes a credential.
		if _, _, scrubbedErr := parseAlertTime(c.scrub(resp.body)); scrubbedErr != nil {
			err = scrubbedErr
		} else {
			err = errors.New("expected a JSON array of alert documents with an @timestamp")
		}
		return time.Time{}, false, &Error{Endpoint: endpointSearch, Status: resp.status, Err: err}
	}
	return t, found, nil
}

// parseAlertTime reads the @timestamp of the first document of a search
// answer: a bare JSON array of documents.
func parseAlertTime(body []byte) (time.Time, bool, error) {
	var docs []map[string]json.RawMessage
	if err := json.Unmarshal(body, &docs); err != nil {
		return time.Time{}, false, fmt.Errorf("expected a JSON array of alert documents, got %s", snippet(body))
	}
	if len(docs) == 0 {
		return time.Time{}, false, nil
	}
	raw, ok := docs[0]["@timestamp"]
	if !ok {
		return time.Time{}, false, errors.New("the alert document has no @timestamp")
	}
	t, err := parseTimestamp(raw)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("the alert's @timestamp %s: %w", truncateKey(string(raw)), err)
	}
	return t, true, nil
}

// latestTimestamp is the last instant whose Unix nanoseconds fit an int64
// (2262-04-11): a later @timestamp would wrap to a negative time and look
// centuries old.
var latestTimestamp = time.Unix(0, math.MaxInt64)

// parseTimestamp reads an alert's @timestamp: an RFC 3339 string (UTMStack
// writes RFC 3339 with nanoseconds) or epoch milliseconds, between 1970 and
// 2262; anything outside is a bad answer, not an age.
func parseTimestamp(raw json.RawMessage) (time.Time, error) {
	t, err := parseTimestampValue(raw)
	if err != nil {
		return time.Time{}, err
	}
	if t.Before(time.Unix(0, 0)) || t.After(latestTimestamp) {
		return time.Time{}, errors.New("is outside 1970 to 2262")
	}
	return t, nil
}

func parseTimestampValue(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var ms json.Number
		if err := json.Unmarshal(raw, &ms); err != nil {
			return time.Time{}, errors.New("is neither a string nor a number")
		}
		n, err := strconv.ParseInt(ms.String(), 10, 64)
		if err != nil {
			return time.Time{}, errors.New("is not whole epoch milliseconds")
		}
		return time.UnixMilli(n), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("is not an RFC 3339 time")
	}
	return t, nil
}
