package utmstack_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// TestCloseReleasesConnectionsStillInUse: a reload replaces the client
// while its round is still running. The connection that round was using
// must be closed when the request ends, not idle on for IdleConnTimeout
// (5 minutes), or a reload storm piles up connections and goroutines.
func TestCloseReleasesConnectionsStillInUse(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	closed := make(chan struct{}, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		entered <- struct{}{}
		<-release
		_, _ = io.WriteString(w, `{"2":1}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c, err := utmstack.New(utmstack.Options{URL: u,
		Credentials: utmstack.Credentials{Method: utmstack.AuthInternalKey, Secret: testInternal}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	call := func() {
		_, err := c.ValuesWithCount(context.Background(), byStatus)
		done <- err
	}
	waitEntered := func() {
		select {
		case <-entered:
		case <-time.After(30 * time.Second):
			t.Fatal("the request never arrived")
		}
	}
	go call()
	waitEntered()
	c.Close() // the reload: the round is still running...
	go call() // ...and sends its next call, which asks for a connection again
	waitEntered()
	close(release)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("a request of the replaced client failed: %v", err)
		}
	}
	for i := range 2 {
		select {
		case <-closed:
		case <-time.After(10 * time.Second): // a bound: without the fix the connections idle for 5 minutes
			t.Fatalf("%d of the 2 connections of a closed client stayed open after its last request", 2-i)
		}
	}
}
