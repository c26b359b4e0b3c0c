package utmstack_test

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/utmstack/utmstack_exporter/internal/testcert"
	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// connServer is the fake UTMStack behind a server that counts its
// connections, and holds each data call until `width` of them are in
// flight, so that a round of that many calls needs that many at once.
type connServer struct {
	fake   *utmstacktest.Server
	server *httptest.Server
	closed chan struct{} // one value per connection closed

	mu     sync.Mutex
	opened int
	open   map[net.Conn]bool
	width  int
	gate   chan struct{}
	held   int
	seen   []*http.Request // the data calls of the current round
	// arrived, when set, gets a value as each data call is held.
	arrived chan struct{}
}

func newConnServer(t *testing.T, tlsHTTP2 bool, startTLS bool) *connServer {
	t.Helper()
	s := &connServer{
		fake:   utmstacktest.New(utmstacktest.Options{Clock: utmstacktest.NewClock(epoch), Users: map[string]string{testUser: testPassword}, Alerts: sampleAlerts()}),
		closed: make(chan struct{}, 1000),
		open:   map[net.Conn]bool{},
		gate:   make(chan struct{}),
	}
	s.fake.SetFault(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/elasticsearch/property/values-with-count" {
			s.hold(r)
		}
		return false
	})
	s.server = httptest.NewUnstartedServer(s.fake)
	s.server.Config.ConnState = func(c net.Conn, state http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch state {
		case http.StateNew:
			s.opened++
			s.open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(s.open, c)
			s.closed <- struct{}{}
		}
	}
	s.server.EnableHTTP2 = tlsHTTP2
	if startTLS {
		s.server.StartTLS()
	} else {
		s.server.Start()
	}
	t.Cleanup(s.server.Close)
	return s
}

// hold waits until width calls are held, then lets them all through.
func (s *connServer) hold(r *http.Request) {
	s.mu.Lock()
	gate := s.gate
	s.seen = append(s.seen, r)
	if s.held++; s.held >= s.width {
		close(gate)
		s.gate, s.held = make(chan struct{}), 0
	}
	arrived := s.arrived
	s.mu.Unlock()
	if arrived != nil {
		arrived <- struct{}{}
	}
	select {
	case <-gate:
	case <-time.After(10 * time.Second): // bounded: a round narrower than width fails below
	}
}

// round makes n calls at once, all held until every one of them is in
// flight. It returns the data requests the server saw.
func (s *connServer) round(t *testing.T, c *utmstack.Client, n int) []*http.Request {
	t.Helper()
	s.mu.Lock()
	s.width, s.seen = n, nil
	s.mu.Unlock()
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.ValuesWithCount(context.Background(), byStatus)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen
}

// counts returns connections opened so far and open now.
func (s *connServer) counts() (opened, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened, len(s.open)
}

// waitClosed waits, bounded, until n more connections have closed.
func (s *connServer) waitClosed(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-s.closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d connections closed after 10 s", i, n)
		}
	}
}

func (s *connServer) client(t *testing.T, keep int, creds utmstack.Credentials, cfg commoncfg.HTTPClientConfig) *utmstack.Client {
	t.Helper()
	u, _ := url.Parse(s.server.URL)
	c, err := utmstack.New(utmstack.Options{URL: u, Credentials: creds, HTTP: cfg, Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// tlsConfig trusts the test server's certificate.
func (s *connServer) tlsConfig(http2 bool) commoncfg.HTTPClientConfig {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.server.Certificate().Raw})
	return commoncfg.HTTPClientConfig{EnableHTTP2: http2, TLSConfig: commoncfg.TLSConfig{CA: string(ca)}}
}

func TestOneConnectionKeptBetweenRounds(t *testing.T) {
	s := newConnServer(t, false, false)
	c := s.client(t, 1, password(), commoncfg.HTTPClientConfig{})
	s.round(t, c, 4)
	opened, _ := s.counts()
	if opened != 4 {
		t.Fatalf("a round of 4 calls at once opened %d connections, want 4", opened)
	}
	s.waitClosed(t, 3)
	if _, open := s.counts(); open != 1 {
		t.Fatalf("%d connections open after the round, want the 1 kept", open)
	}
	// The next probe of this target, one call at a time, reuses it.
	s.round(t, c, 1)
	s.round(t, c, 1)
	if again, open := s.counts(); again != opened || open != 1 {
		t.Fatalf("two one-call rounds opened %d more connections (%d open), want 0 (1)", again-opened, open)
	}
	// A round of 4 again: the kept one and 3 new ones, closed as they end.
	s.round(t, c, 4)
	s.waitClosed(t, 3)
	if again, open := s.counts(); again != opened+3 || open != 1 {
		t.Fatalf("the second round of 4 opened %d more connections (%d open), want 3 (1)", again-opened, open)
	}
}

func TestAsManyConnectionsKeptAsAsked(t *testing.T) {
	s := newConnServer(t, false, false)
	c := s.client(t, 4, password(), commoncfg.HTTPClientConfig{})
	for range 3 {
		s.round(t, c, 4)
	}
	if opened, open := s.counts(); opened != 4 || open != 4 {
		t.Fatalf("three rounds of 4 calls opened %d connections, %d open, want 4 and 4", opened, open)
	}
}

// TestAdjustedKeepHoldsAsManyConnections: a reload that raises
// max_concurrency keeps the client (and its token) and adjusts it: from
// the next call it keeps as many idle connections as the new value, and
// the transport it replaces closes the one it kept.
func TestAdjustedKeepHoldsAsManyConnections(t *testing.T) {
	s := newConnServer(t, false, false)
	c := s.client(t, 1, password(), commoncfg.HTTPClientConfig{})
	s.round(t, c, 4)
	s.waitClosed(t, 3)
	before, _ := s.counts()

	c.Adjust(4, 0)
	for range 3 {
		s.round(t, c, 4)
	}
	s.waitClosed(t, 1) // the connection the old transport kept
	if opened, open := s.counts(); opened-before != 4 || open != 4 {
		t.Fatalf("three rounds of 4 calls after keep went to 4 opened %d connections, %d open, want 4 and 4", opened-before, open)
	}
	if s.fake.Requests(http.MethodPost, "/api/authenticate") != 1 {
		t.Fatal("adjusting the client logged in again")
	}

	c.Adjust(1, 0)
	s.round(t, c, 1)
	s.waitClosed(t, 4)
	if _, open := s.counts(); open != 1 {
		t.Fatalf("%d connections open after keep went back to 1, want 1", open)
	}
}

// TestReplacedTransportClosesConnectionsInFlight: a call in flight when
// the keep changes comes back to a transport nothing uses any more: its
// connection is closed then, not left to idle for minutes.
func TestReplacedTransportClosesConnectionsInFlight(t *testing.T) {
	s := newConnServer(t, false, false)
	c := s.client(t, 1, password(), commoncfg.HTTPClientConfig{})
	s.round(t, c, 1) // logs in; the connection is kept
	s.mu.Lock()
	s.width, s.arrived = 2, make(chan struct{}, 2)
	s.mu.Unlock()
	errs := make(chan error, 2)
	call := func() {
		_, err := c.ValuesWithCount(context.Background(), byStatus)
		errs <- err
	}
	go call() // over the kept connection of the transport for keep 1
	<-s.arrived
	c.Adjust(2, 0)
	go call() // over a new transport, which opens a connection
	<-s.arrived
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s.waitClosed(t, 1)
	if opened, open := s.counts(); opened != 2 || open != 1 {
		t.Fatalf("%d connections opened, %d open, want 2 and the new transport's 1", opened, open)
	}
}

func TestCloseClosesEveryConnection(t *testing.T) {
	s := newConnServer(t, false, false)
	c := s.client(t, 2, password(), commoncfg.HTTPClientConfig{})
	s.round(t, c, 2)
	c.Close()
	s.waitClosed(t, 2)
	if _, open := s.counts(); open != 0 {
		t.Fatalf("%d connections open after Close, want 0", open)
	}
}

func TestHTTP2CarriesARoundOnTheKeptConnection(t *testing.T) {
	s := newConnServer(t, true, true)
	c := s.client(t, 1, password(), s.tlsConfig(true))
	s.round(t, c, 4) // learns that the server speaks HTTP/2
	opened, _ := s.counts()
	for _, r := range s.round(t, c, 4) {
		if r.ProtoMajor != 2 {
			t.Fatalf("a call went over %s, want HTTP/2", r.Proto)
		}
	}
	if again, _ := s.counts(); again != opened {
		t.Fatalf("a round of 4 calls over HTTP/2 opened %d connections, want 0: the kept one carries them all", again-opened)
	}
}

func TestExtraConnectionsResumeTheTLSSession(t *testing.T) {
	s := newConnServer(t, false, true)
	c := s.client(t, 1, password(), s.tlsConfig(false))
	before := map[string]bool{} // the connections of the first round, by client address
	for _, r := range s.round(t, c, 4) {
		before[r.RemoteAddr] = true
	}
	kept, resumed := 0, 0
	for _, r := range s.round(t, c, 4) {
		switch {
		case r.ProtoMajor != 1:
			t.Fatalf("a call went over %s, want HTTP/1.1", r.Proto)
		case before[r.RemoteAddr]:
			kept++
		case r.TLS.DidResume:
			resumed++
		}
	}
	if kept != 1 || resumed != 3 {
		t.Fatalf("the second round of 4 calls: %d over the kept connection, %d over new ones that resumed the TLS session, want 1 and 3", kept, resumed)
	}
}

func TestRequestsGoThroughTheProxy(t *testing.T) {
	s := newConnServer(t, false, false)
	var mu sync.Mutex
	var asked []string // the hosts the proxy was asked for
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Host)
		mu.Unlock()
		s.fake.ServeHTTP(w, r) // plain HTTP through a proxy: the absolute URL in the request line
	}))
	t.Cleanup(proxy.Close)
	proxyURL, _ := url.Parse(proxy.URL)
	// No UTMStack listens there: only the proxy can answer.
	u, _ := url.Parse("http://127.0.0.1:1")
	c, err := utmstack.New(utmstack.Options{URL: u, Credentials: password(),
		HTTP: commoncfg.HTTPClientConfig{ProxyConfig: commoncfg.ProxyConfig{ProxyURL: commoncfg.URL{URL: proxyURL}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if _, err := c.ValuesWithCount(context.Background(), byStatus); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked[0] != u.Host || asked[1] != u.Host { // the login, the call
		t.Fatalf("the proxy was asked for %q, want the login and the call to %s", asked, u.Host)
	}
}

func TestAChangedCAFileIsReadWithoutANewClient(t *testing.T) {
	s := newConnServer(t, false, true)
	s.server.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	writeFile := func(pemBytes []byte) {
		t.Helper()
		if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := testcert.SelfSigned(t, "some other CA")
	writeFile(other)
	// A key, not a password: a failed login would hold the next one back.
	s.fake.SetAPIKeys([]utmstacktest.APIKey{{Key: testAPIKey}})
	apiKey := utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey}
	c := s.client(t, 1, apiKey, commoncfg.HTTPClientConfig{TLSConfig: commoncfg.TLSConfig{CAFile: caFile}})
	if _, err := c.ValuesWithCount(context.Background(), byStatus); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a call with the wrong CA in ca_file: %v, want a certificate error", err)
	}
	writeFile(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.server.Certificate().Raw}))
	if _, err := c.ValuesWithCount(context.Background(), byStatus); err != nil {
		t.Fatalf("a call once ca_file holds the server's CA: %v", err)
	}
}

func TestCallsAndAnswersLargerThanTheConnectionBuffers(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{})
	f.fake.SetFault(func(w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("X-Long", strings.Repeat("h", 3000)) // a header line past the read buffer
		return false
	})
	req := byStatus
	// A body past the write buffer; no alert has that name, so all count.
	req.Filters = []utmstack.Filter{{Field: "name", Operator: "IS_NOT", Value: strings.Repeat("x", 5000)}}
	c := f.client(t, password())
	for range 2 { // the second over the same connection
		got, err := c.ValuesWithCount(context.Background(), req)
		wantStatusCounts(t, got, err)
	}
}
