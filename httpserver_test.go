package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestHalfSentRequestIsCutOff: a client that sends part of its headers
// and then nothing (Slowloris) is disconnected once readHeaderTimeout has
// passed, instead of holding the connection for ever; a whole request is
// answered.
func TestHalfSentRequestIsCutOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: exporter\r\n"); err != nil {
		t.Fatal(err)
	}
	// The bound fails the test; the server's close ends the wait.
	_ = conn.SetReadDeadline(start.Add(readHeaderTimeout + 10*time.Second))
	_, err = io.ReadAll(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the half-sent request still held its connection after %v", time.Since(start).Round(time.Millisecond))
	}
	if took := time.Since(start); took < readHeaderTimeout {
		t.Fatalf("cut off after %v, before the %v header timeout", took, readHeaderTimeout)
	}
	if srv.IdleTimeout <= 0 || srv.IdleTimeout < time.Minute {
		t.Fatalf("IdleTimeout %v: want kept-alive connections to outlive a one-minute scrape interval", srv.IdleTimeout)
	}
}
