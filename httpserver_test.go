package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"testing/synctest"
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

	// Before the dial: the server may start its header deadline as soon
	// as it accepts, before Dial returns here.
	start := time.Now()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
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
}

// TestIdleConnectionOutlivesAScrapeIntervalThenCloses: a kept-alive
// connection idle for longer than a one-minute scrape interval still
// carries the next scrape, and one nobody uses is closed once idleTimeout
// has passed. Over in-memory connections in a synctest bubble, so the
// minutes pass on its clock.
func TestIdleConnectionOutlivesAScrapeIntervalThenCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newPipeListener()
		srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
		go func() { _ = srv.Serve(ln) }()
		defer func() { _ = srv.Close() }()

		conn := ln.dial()
		defer func() { _ = conn.Close() }()
		r := bufio.NewReader(conn)
		scrape := func() {
			t.Helper()
			if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: exporter\r\n\r\n"); err != nil {
				t.Fatalf("sending a scrape on the kept connection: %v", err)
			}
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatalf("reading the answer on the kept connection: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		scrape()
		time.Sleep(90 * time.Second) // the bubble's clock: a scrape interval and more
		scrape()

		idle := time.Now()
		if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("reading an idle connection: %v, want the server to close it", err)
		}
		if took := time.Since(idle); took != idleTimeout {
			t.Fatalf("an idle connection closed after %v, want %v", took, idleTimeout)
		}
	})
}

// pipeListener hands the server in-memory connections: inside a synctest
// bubble their deadlines run on the bubble's clock.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// dial is a client's connection to the server.
func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
