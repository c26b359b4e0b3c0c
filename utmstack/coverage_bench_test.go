package utmstack_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// countingWriter counts the body bytes UTMStack sends.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return w.ResponseWriter.Write(p)
}

// BenchmarkCoverageRead measures what one coverage read costs UTMStack:
// the calls and the answer bytes of reading every data source and every
// agent, at 10, 1,000 and 10,000 of each.
func BenchmarkCoverageRead(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			fake := utmstacktest.New(utmstacktest.Options{Users: map[string]string{testUser: testPassword},
				DataSources: manySources(n), Agents: manyAgents(n)})
			var bytes atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fake.ServeHTTP(countingWriter{w, &bytes}, r)
			}))
			defer srv.Close()
			u, _ := url.Parse(srv.URL)
			c, err := utmstack.New(utmstack.Options{URL: u, Credentials: password()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if _, _, err := c.DataSources(context.Background(), utmstack.DefaultPageLimits); err != nil { // logs in
				b.Fatal(err)
			}
			fake.ResetCounts()
			bytes.Store(0)
			b.ResetTimer()
			for range b.N {
				if _, _, err := c.DataSources(context.Background(), utmstack.DefaultPageLimits); err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.Agents(context.Background(), utmstack.DefaultPageLimits); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reads := float64(b.N)
			b.ReportMetric(float64(fake.Requests(http.MethodGet, "/api/utm-data-input-statuses"))/reads, "source-calls/read")
			b.ReportMetric(float64(fake.Requests(http.MethodGet, "/api/agent-manager/agents"))/reads, "agent-calls/read")
			b.ReportMetric(float64(bytes.Load())/reads, "bytes/read")
		})
	}
}
