package utmstack

// Benchmarks of the client's per-call work: parsing a values-with-count
// answer, and one whole call (encode, HTTP on loopback, parse) against a stub
// that answers a canned body at once. Results and how to run them: see
// BENCHMARKS.md at the repository root.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// benchCountsBody is a values-with-count answer with n buckets, keyed like
// the country breakdown (two-letter codes), largest count first, the way
// UTMStack's LinkedHashMap orders buckets with orderByCount.
func benchCountsBody(n int) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", benchCountryCode(i), 100_000/(i+1)+1)
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// benchCountryCode is a distinct two-letter code for i < 676.
func benchCountryCode(i int) string {
	return string([]byte{byte('A' + i/26%26), byte('A' + i%26)})
}

func BenchmarkParseCounts(b *testing.B) {
	for _, n := range []int{5, 30, 100, 250} {
		body := benchCountsBody(n)
		b.Run("buckets="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				counts, err := parseCounts(body, 1000)
				if err != nil || len(counts) != n {
					b.Fatalf("parseCounts: %d buckets, err %v", len(counts), err)
				}
			}
		})
	}
}

// BenchmarkValuesWithCount is one client call: the request encoded, sent on
// loopback to a stub that answers a canned body at once, the answer read
// and parsed. The stub's and net/http's own work is in the figures; an API
// key is used so that no login is involved.
func BenchmarkValuesWithCount(b *testing.B) {
	for _, n := range []int{5, 250} {
		body := benchCountsBody(n)
		b.Run("buckets="+strconv.Itoa(n), func(b *testing.B) {
			stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = w.Write(body)
			}))
			defer stub.Close()
			u, _ := url.Parse(stub.URL)
			c, err := New(Options{URL: u, Credentials: Credentials{Method: AuthAPIKey, Secret: "bench-api-key"}})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := ValuesRequest{
				Index: "v11-alert-*",
				Field: "adversary.geolocation.countryCode.keyword",
				Filters: []Filter{
					{Field: "@timestamp", Operator: "IS_BETWEEN", Value: []any{"now-24h/m", "now/m"}},
					{Field: "tags", Operator: "IS_NOT", Value: "False positive"},
					{Field: "parentId", Operator: "DOES_NOT_EXIST"},
				},
				Top: 500,
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				counts, err := c.ValuesWithCount(ctx, req)
				if err != nil || len(counts) != n {
					b.Fatalf("ValuesWithCount: %d buckets, err %v", len(counts), err)
				}
			}
		})
	}
}
