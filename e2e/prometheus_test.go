//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// promQuery evaluates expr at the current time on a Prometheus server and
// returns its single sample, if there is exactly one.
func promQuery(ctx context.Context, base, expr string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, false, err
	}
	if body.Status != "success" {
		return 0, false, fmt.Errorf("query %s: %s", expr, body.Error)
	}
	if len(body.Data.Result) != 1 {
		return 0, false, nil
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil, err
}

// eventually polls Prometheus until expr has the value want: Prometheus
// scrapes on its own schedule, so there is no event to wait on. The poll is
// bounded by ctx.
func eventually(ctx context.Context, t *testing.T, base, expr string, want float64) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		v, ok, err := promQuery(ctx, base, expr)
		switch {
		case err != nil:
			last = err.Error()
		case ok && v == want:
			return
		case ok:
			last = fmt.Sprintf("value %v", v)
		default:
			last = "no single series"
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: want %v, last saw %s", expr, want, last)
		}
	}
}
