package utmstack_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// TestAnsweredMeansUTMStackItselfAnswered: utmstack_up rests on
// Error.Answered. A gateway speaking for an unreachable backend, or a body
// that breaks off or outlives the deadline, is no answer from UTMStack; a
// whole answer UTMStack's own controllers could give is one, however wrong.
func TestAnsweredMeansUTMStackItselfAnswered(t *testing.T) {
	for _, tc := range []struct {
		name     string
		handler  http.HandlerFunc
		answered bool
	}{
		{"500 with X-UtmStack-error", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-UtmStack-error", "no shards")
			w.WriteHeader(http.StatusInternalServerError)
		}, true},
		{"HTML page with 200", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "<html><body>hello</body></html>")
		}, true},
		{"body over the limit", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"2":1,"pad":"`+strings.Repeat("x", 2048)+`"}`)
		}, true},
		{"502 from nginx", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		}, false},
		{"503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }, false},
		{"504", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGatewayTimeout) }, false},
		{"connection cut mid-body", func(w http.ResponseWriter, _ *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer func() { _ = conn.Close() }()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"2\":")
			_ = buf.Flush()
		}, false},
		{"body still trickling at the deadline", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, `{"2":`)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute): // a bound; the client gives up long before
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			u, _ := url.Parse(srv.URL)
			c, err := utmstack.New(utmstack.Options{URL: u, MaxBodyBytes: 1024,
				Credentials: utmstack.Credentials{Method: utmstack.AuthInternalKey, Secret: testInternal}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err = c.ValuesWithCount(ctx, byStatus)
			var callErr *utmstack.Error
			if !errors.As(err, &callErr) {
				t.Fatalf("err = %v (%T), want a *utmstack.Error", err, err)
			}
			if callErr.Answered() != tc.answered {
				t.Fatalf("Answered() = %v, want %v (err: %v)", callErr.Answered(), tc.answered, err)
			}
			if callErr.Status == 0 {
				t.Fatalf("the status is lost from the error: %v", err)
			}
		})
	}
}
