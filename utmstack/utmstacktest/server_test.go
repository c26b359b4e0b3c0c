package utmstacktest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPublicEndpoints(t *testing.T) {
	f := newFixture(t, Options{Version: "v11.2.0-community"})
	r := f.do("GET", "/api/ping", "")
	if r.status != 200 || r.body != `"OK"` {
		t.Errorf("ping: %d %q", r.status, r.body)
	}
	m := f.do("GET", "/management/info", "").json(t)
	build, _ := m["build"].(map[string]any)
	if build["version"] != "v11.2.0-community" || build["artifact"] != "utmstack" || build["name"] != "UTMStack-API" {
		t.Errorf("info: %v", m)
	}
	d := newFixture(t, Options{})
	if v := d.do("GET", "/management/info", "").json(t)["build"].(map[string]any)["version"]; v != "v11.0.1-community" {
		t.Errorf("default version %v", v)
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	f := newFixture(t, Options{InternalKey: "k"})
	wantSpringError(t, f.do("GET", "/api/nothing-here", "", "Utm-Internal-Key", "k"), 404, "/api/nothing-here")
	r := f.do("GET", dataPath, "", "Utm-Internal-Key", "k")
	wantStatus(t, r, 500)
	if !strings.Contains(r.header.Get("X-UtmStack-error"), "Request method 'GET' not supported") {
		t.Errorf("X-UtmStack-error %q", r.header.Get("X-UtmStack-error"))
	}
	leg := newFixture(t, Options{Edition: EditionLegacy, InternalKey: "k"})
	wantStatus(t, leg.do("DELETE", "/api/ping", ""), 405)
}

func TestRequestCounting(t *testing.T) {
	f := newFixture(t, Options{})
	f.do("GET", "/api/ping", "")
	f.do("GET", "/api/ping?x=1", "")
	f.do("POST", "/api/authenticate", loginBody("admin", "wrong-pass"))
	f.clock.Advance(time.Minute)
	f.login("admin", "s3cret!")
	if n := f.srv.Requests("GET", "/api/ping"); n != 2 {
		t.Errorf("GET /api/ping counted %d, want 2", n)
	}
	if n := f.srv.Requests("POST", "/api/authenticate"); n != 2 {
		t.Errorf("POST /api/authenticate counted %d, want 2", n)
	}
	if n := f.srv.TotalRequests(); n != 4 {
		t.Errorf("total %d, want 4", n)
	}
	got := f.srv.LoginAttempts()
	if len(got) != 2 || !got[0].Equal(t0) || !got[1].Equal(t0.Add(time.Minute)) {
		t.Errorf("login attempts %v", got)
	}
	f.srv.ResetCounts()
	if f.srv.TotalRequests() != 0 || f.srv.Requests("GET", "/api/ping") != 0 || len(f.srv.LoginAttempts()) != 0 {
		t.Error("ResetCounts left something behind")
	}
}

func TestFault(t *testing.T) {
	f := newFixture(t, Options{})
	f.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/ping" {
			return false
		}
		w.WriteHeader(http.StatusBadGateway)
		return true
	})
	wantStatus(t, f.do("GET", "/api/ping", ""), 502)
	wantStatus(t, f.do("POST", "/api/authenticate", loginBody("admin", "s3cret!")), 200)
	if n := f.srv.Requests("GET", "/api/ping"); n != 1 {
		t.Errorf("faulted request counted %d times, want 1", n)
	}
	f.srv.SetFault(nil)
	wantStatus(t, f.do("GET", "/api/ping", ""), 200)
}

// leaveOnArrival sends req from a client that leaves (cancel) as soon as
// the server has the request, and returns the client's error.
func leaveOnArrival(t *testing.T, h *httptest.Server, req *http.Request, cancel context.CancelFunc, arrived <-chan struct{}) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		resp, err := h.Client().Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-arrived:
	case err := <-errc:
		t.Fatalf("the request ended before it arrived: %v", err)
	}
	cancel()
	return <-errc
}

func TestLatencyStopsWhenTheRequestEnds(t *testing.T) {
	s := New(Options{})
	s.SetLatency(time.Hour)
	arrived, done := make(chan struct{}), make(chan struct{})
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		close(arrived)
		s.ServeHTTP(w, r)
	}))
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.URL+"/api/ping", nil)
	if err := leaveOnArrival(t, h, req, cancel, arrived); !errors.Is(err, context.Canceled) {
		t.Errorf("client error %v, want context.Canceled", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler kept waiting after the request was cancelled")
	}

	s.SetLatency(time.Millisecond)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/ping", nil))
	if rec.Code != 200 {
		t.Errorf("with a short latency: %d", rec.Code)
	}
}

// TestLatencyStillJudgesALoginWhoseClientLeft: Spring finishes a request
// whose client has gone, so a wrong password counts toward the lock-out
// though its 401 reaches no one.
func TestLatencyStillJudgesALoginWhoseClientLeft(t *testing.T) {
	s := New(Options{Clock: NewClock(t0), Users: map[string]string{"admin": "s3cret!"}})
	s.SetLatency(time.Hour)
	arrived, done := make(chan struct{}, 1), make(chan struct{}, 1)
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { done <- struct{}{} }()
		arrived <- struct{}{}
		s.ServeHTTP(w, r)
	}))
	defer h.Close()
	for i := range 10 {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.URL+"/api/authenticate", strings.NewReader(loginBody("admin", "wrong-pass")))
		req.Header.Set("Content-Type", "application/json")
		if err := leaveOnArrival(t, h, req, cancel, arrived); !errors.Is(err, context.Canceled) {
			t.Fatalf("login %d: client error %v, want context.Canceled", i+1, err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second): // a bound; the client is already gone
			t.Fatalf("login %d: the handler kept waiting after its client left", i+1)
		}
	}
	s.SetLatency(0)
	resp, err := h.Client().Post(h.URL+"/api/authenticate", "application/json", strings.NewReader(loginBody("admin", "s3cret!")))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	<-arrived
	<-done
	if resp.StatusCode != http.StatusLocked {
		t.Fatalf("after 10 wrong passwords whose clients left: status %d, want 423", resp.StatusCode)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, Options{Alerts: aggAlerts(), APIKeys: []APIKey{{Key: "key"}}})
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, f.http.URL+"/api/authenticate", strings.NewReader(loginBody("admin", "s3cret!")))
			req.Header.Set("Content-Type", "application/json")
			if resp, err := f.http.Client().Do(req); err != nil || resp.StatusCode != http.StatusOK {
				errs <- "login failed"
			} else {
				_ = resp.Body.Close()
			}
			body := `{"field":"severity","index":"v11-alert-*","filters":[{"field":"@timestamp","operator":"IS_BETWEEN","value":["now-24h","now"]}],"top":10,"orderByCount":true}`
			req, _ = http.NewRequest(http.MethodPost, f.http.URL+dataPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Utm-Api-Key", "key")
			if resp, err := f.http.Client().Do(req); err != nil || resp.StatusCode != http.StatusOK {
				errs <- "values-with-count failed"
			} else {
				_ = resp.Body.Close()
			}
			switch i % 4 {
			case 0:
				f.srv.SetAlerts(aggAlerts())
			case 1:
				f.clock.Advance(time.Second)
			case 2:
				_ = f.srv.LoginAttempts()
			case 3:
				f.srv.SetLatency(0)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := f.srv.TotalRequests(); n != 80 {
		t.Errorf("total %d, want 80", n)
	}
}

func TestClock(t *testing.T) {
	c := NewClock(t0)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Advance(time.Second)
			_ = c.Now()
		}()
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("clock at %v, want %v", got, t0.Add(10*time.Second))
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Error("Set did not set")
	}
}
