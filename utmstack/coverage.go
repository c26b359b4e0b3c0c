package utmstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// What UTMStack knows of its own coverage: when each log source last sent a
// log (utm_data_input_status) and the state of each agent. Both lists are
// read in pages of a bounded size, up to a bounded total.

// DataSource is one row of UTMStack's utm_data_input_status: a source (a
// host, an IP, a cloud account) sending logs of one data type.
type DataSource struct {
	Source   string
	DataType string
	// LastSeen is when UTMStack last received a log from it; zero when
	// UTMStack has no time.
	LastSeen time.Time
	// Median is the median gap between its logs; HasMedian is false when
	// UTMStack has none (null).
	Median    time.Duration
	HasMedian bool
}

// Agent is one agent as UTMStack's agent manager lists it. The agent key
// that comes with it (masked by UTMStack) is never kept.
type Agent struct {
	ID int64
	// Status is UTMStack's AgentStatusEnum name: ONLINE, OFFLINE or
	// UNKNOWN.
	Status  string
	Version string
}

// PageLimits bound a paged read: the items asked per call, and the most
// items read in all. A list longer than MaxItems is an error rather than a
// partial answer: counts from part of a list would look exact.
type PageLimits struct {
	PageSize int
	MaxItems int
}

// DefaultPageLimits read up to 20,000 items in pages of 500: 40 calls at
// most, each answer some tens of kilobytes.
var DefaultPageLimits = PageLimits{PageSize: 500, MaxItems: 20000}

const (
	endpointDataSources = "utm_data_input_statuses"
	endpointAgents      = "agent_manager_agents"
)

// DataSources lists every data source UTMStack watches, from
// GET /api/utm-data-input-statuses: Spring paging (page from 0, size at most
// 2000), X-Total-Count, sorted by id so that pages do not overlap. UTMStack
// leaves out sources that only send its own and HIDS logs. A 403 (a user
// who may not read it) is an *Error with Status 403 and holds back no other
// call. It also tells how many calls it made.
func (c *Client) DataSources(ctx context.Context, lim PageLimits) ([]DataSource, int, error) {
	type row struct {
		Source    string `json:"source"`
		DataType  string `json:"dataType"`
		Timestamp *int64 `json:"timestamp"`
		Median    *int64 `json:"median"`
	}
	rows, calls, err := readPages(ctx, c, endpointDataSources, "data sources", 0, lim,
		func(page, size int) string {
			q := url.Values{"page": {strconv.Itoa(page)}, "size": {strconv.Itoa(size)}, "sort": {"id,asc"}}
			return "/api/utm-data-input-statuses?" + q.Encode()
		},
		func(r row) string { return r.DataType + "\x00" + r.Source })
	if err != nil {
		return nil, calls, err
	}
	out := make([]DataSource, len(rows))
	for i, r := range rows {
		out[i] = DataSource{Source: r.Source, DataType: r.DataType}
		if r.Timestamp != nil {
			if *r.Timestamp < 0 || *r.Timestamp > latestTimestamp.Unix() {
				return nil, calls, &Error{Endpoint: endpointDataSources, Status: http.StatusOK,
					Err: fmt.Errorf("the timestamp of source %q is %d, outside 1970 to 2262", truncateKey(c.scrubText(r.Source)), *r.Timestamp)}
			}
			out[i].LastSeen = time.Unix(*r.Timestamp, 0)
		}
		// A median a time.Duration cannot hold, or a negative one, is no
		// median: the source is counted, as one UTMStack cannot judge.
		if r.Median != nil && *r.Median >= 0 && *r.Median <= maxMedianSeconds {
			out[i].Median, out[i].HasMedian = time.Duration(*r.Median)*time.Second, true
		}
	}
	return out, calls, nil
}

// maxMedianSeconds is the longest median a time.Duration holds (about 292
// years); UTMStack's medians are seconds to days.
const maxMedianSeconds = math.MaxInt64 / int64(time.Second)

// Agents lists every agent, from GET /api/agent-manager/agents, which asks
// the agent manager over gRPC: pageNumber from 1 (0 is read as 1),
// pageSize, sortBy "id,asc" for pages that do not overlap, X-Total-Count.
// UTMStack masks each agent's key; it is not read. A 403 is an *Error with
// Status 403 and holds back no other call; an agent manager that does not
// answer is a 500 with X-UtmStack-error. It also tells how many calls it
// made.
func (c *Client) Agents(ctx context.Context, lim PageLimits) ([]Agent, int, error) {
	type row struct {
		ID      int64  `json:"id"`
		Status  string `json:"status"`
		Version string `json:"version"`
	}
	rows, calls, err := readPages(ctx, c, endpointAgents, "agents", 1, lim,
		func(page, size int) string {
			q := url.Values{"pageNumber": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(size)}, "sortBy": {"id,asc"}}
			return "/api/agent-manager/agents?" + q.Encode()
		},
		func(r row) string { return strconv.FormatInt(r.ID, 10) })
	if err != nil {
		return nil, calls, err
	}
	out := make([]Agent, len(rows))
	for i, r := range rows {
		out[i] = Agent(r)
	}
	return out, calls, nil
}

// readPages reads a paged list from its first page on, until a page comes
// back short or X-Total-Count items were read. A row met again (the list
// changed between two pages) counts once, by key. It never makes more than
// MaxItems/PageSize+1 calls, whatever X-Total-Count says: a total above
// MaxItems, or pages that keep coming full past it, are an error, and so
// is a page longer than asked.
func readPages[T any](ctx context.Context, c *Client, endpoint, what string, first int, lim PageLimits,
	path func(page, size int) string, key func(T) string) (out []T, calls int, err error) {
	if lim.PageSize < 1 || lim.MaxItems < 1 {
		return nil, 0, fmt.Errorf("%s: page size and item limit must be at least 1, got %d and %d", endpoint, lim.PageSize, lim.MaxItems)
	}
	maxPages := lim.MaxItems/lim.PageSize + 1
	seen := map[string]bool{}
	read := 0
	for page := first; page < first+maxPages; page++ {
		calls++
		resp, err := c.call(ctx, apiCall{endpoint: endpoint, path: path(page, lim.PageSize), ownForbidden: true})
		if err != nil {
			return nil, calls, err
		}
		fail := func(format string, args ...any) error {
			return &Error{Endpoint: endpoint, Status: resp.status, UTMStackError: c.quoteHeader(resp.header.Get("X-UtmStack-error")),
				Err: fmt.Errorf(format, args...)}
		}
		rows, err := decodePage[T](resp.body, lim.PageSize)
		if errors.Is(err, errPageTooLong) {
			return nil, calls, fail("page %d holds more %s than the %d asked", page, what, lim.PageSize)
		}
		if err != nil {
			// UTMStack answers a failed read of its data sources with a 200,
			// no body and the cause in X-UtmStack-error.
			return nil, calls, fail("expected a JSON array of %s, got %s", what, describeBody(c.scrub(resp.body)))
		}
		total, err := totalCount(resp.header)
		if err != nil {
			return nil, calls, fail("%s", c.scrubText(err.Error()))
		}
		if total > int64(lim.MaxItems) {
			return nil, calls, fail("UTMStack lists %d %s, more than the %d the exporter reads", total, what, lim.MaxItems)
		}
		for _, r := range rows {
			if k := key(r); !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
		read += len(rows)
		if len(rows) < lim.PageSize || int64(read) >= total {
			return out, calls, nil
		}
	}
	return nil, calls, &Error{Endpoint: endpoint, Status: http.StatusOK,
		Err: fmt.Errorf("more than %d %s after %d full pages; stopped", lim.MaxItems, what, maxPages)}
}

var errPageTooLong = errors.New("a page longer than asked")

// decodePage reads a JSON array of at most limit rows as a stream: it stops
// at the first row too many (errPageTooLong), so a body of a million tiny
// rows costs neither the time nor the memory of decoding them all.
func decodePage[T any](body []byte, limit int) ([]T, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errors.New("not a JSON array")
	}
	rows := []T{}
	for dec.More() {
		if len(rows) == limit {
			return nil, errPageTooLong
		}
		var row T
		if err := dec.Decode(&row); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return nil, errors.New("not a JSON array")
	}
	// Only the end of input will do after the array.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the array")
	}
	return rows, nil
}

// totalCount reads X-Total-Count.
func totalCount(h http.Header) (int64, error) {
	v := h.Get("X-Total-Count")
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("X-Total-Count is %q, expected a whole number", truncateKey(v))
	}
	return n, nil
}
