package utmstacktest

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Server is the fake UTMStack backend. It is an http.Handler; wrap it with
// httptest.NewServer (or NewTLSServer) to get a URL.
type Server struct {
	opts Options // read-only after New

	mu        sync.Mutex
	users     map[string]string
	apiKeys   []APIKey
	data      *dataset
	incidents []Incident
	key       []byte
	lock      *lockout
	latency   time.Duration
	fault     func(http.ResponseWriter, *http.Request) bool
	counts    map[string]int
	total     int
	cov       *coverage
	logins    []time.Time
}

// New returns a server configured by opts.
func New(opts Options) *Server {
	if opts.IndexPattern == "" {
		opts.IndexPattern = defaultIndexPattern
	}
	if opts.Version == "" {
		opts.Version = defaultVersion
	}
	s := &Server{
		opts:      opts,
		users:     map[string]string{},
		apiKeys:   append([]APIKey(nil), opts.APIKeys...),
		data:      newDataset(opts.Alerts),
		incidents: slices.Clone(opts.Incidents),
		key:       newSigningKey(),
		lock:      newLockout(),
		counts:    map[string]int{},
		cov:       newCoverage(opts),
	}
	for u, p := range opts.Users {
		s.users[strings.ToLower(u)] = p
	}
	return s
}

func (s *Server) now() time.Time {
	if s.opts.Clock != nil {
		return s.opts.Clock.Now().Add(s.opts.ClockSkew)
	}
	return time.Now().Add(s.opts.ClockSkew)
}

// Restart simulates a backend restart: a new JWT signing key, so every
// issued token now gets 401, and an empty login-attempt cache, which lives
// in the JVM's memory too.
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = newSigningKey()
	s.lock = newLockout()
}

// SetAlerts replaces the alert documents (and so the inferred mapping).
func (s *Server) SetAlerts(alerts []Alert) {
	ds := newDataset(alerts)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = ds
}

// SetPassword sets a user's password, creating the user if needed. Issued
// tokens stay valid, as in UTMStack.
func (s *Server) SetPassword(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(user)] = password
}

// SetAPIKeys replaces the user API keys.
func (s *Server) SetAPIKeys(keys []APIKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKeys = append([]APIKey(nil), keys...)
}

// SetLatency delays every request by d of real time before it is answered.
// The wait ends early when the request's context ends (the client has gone),
// and the request is then handled all the same, its answer discarded: Spring
// finishes a request whose client has left, so a login still counts toward
// the lock-out.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetFault installs f, called on every request before normal handling (and
// after the latency); when it returns true it has answered the request.
// nil removes it.
func (s *Server) SetFault(f func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Requests returns how many requests with that method and URL path arrived,
// including those a fault answered.
func (s *Server) Requests(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[method+" "+path]
}

// TotalRequests returns how many requests arrived.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// LoginAttempts returns the clock time of every POST /api/authenticate
// received, in arrival order, blocked and faulted ones included.
func (s *Server) LoginAttempts() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.logins...)
}

// MaxLoginAttemptsWithin is the largest number of login attempts that
// arrived within any window-long span: what UTMStack's lock-out (10 failures
// in 10 minutes) would have seen at its worst.
func (s *Server) MaxLoginAttemptsWithin(window time.Duration) int {
	attempts := s.LoginAttempts()
	most := 0
	for i := range attempts {
		n := 0
		for j := i; j < len(attempts) && attempts[j].Sub(attempts[i]) < window; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

// ResetCounts forgets the request counts and login attempts.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.total = 0
	s.logins = nil
}

// ServeHTTP counts the request, waits the latency, gives the fault a chance,
// then answers like UTMStack.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts[r.Method+" "+r.URL.Path]++
	s.total++
	if r.Method == http.MethodPost && r.URL.Path == "/api/authenticate" {
		s.logins = append(s.logins, s.now())
	}
	latency, fault := s.latency, s.fault
	s.mu.Unlock()

	if latency > 0 {
		// Read the body first, as Spring does before the controller runs:
		// only then does net/http notice a client that has gone.
		r = bufferBody(r)
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			w = discardWriter{header: http.Header{}}
		}
	}
	if fault != nil && fault(w, r) {
		return
	}
	s.serve(w, r)
}

// bufferBody reads up to maxBody of the request body into memory; the
// handlers read it from there, and any rest after it.
func bufferBody(r *http.Request) *http.Request {
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	var rest io.Reader = r.Body
	if err != nil {
		rest = errReader{err} // the body broke off: so it does for the handler
	}
	r2 := r.Clone(r.Context())
	r2.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), rest), r.Body}
	return r2
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// discardWriter takes the answer to a request whose client has gone.
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

// route is one controller method.
type route struct {
	method  string
	handler func(http.ResponseWriter, *http.Request, *principal)
}

func (s *Server) routes(path string) []route {
	plain := func(h func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request, *principal) {
		return func(w http.ResponseWriter, r *http.Request, _ *principal) { h(w, r) }
	}
	switch path {
	case "/api/authenticate":
		return []route{{http.MethodPost, plain(s.handleLogin)}, {http.MethodGet, s.handleIsAuthenticated}}
	case "/api/ping":
		return []route{{http.MethodGet, plain(handlePing)}}
	case "/management/info":
		return []route{{http.MethodGet, plain(s.handleInfo)}}
	case "/api/elasticsearch/property/values-with-count":
		return []route{{http.MethodPost, plain(s.handleValuesWithCount)}}
	case "/api/elasticsearch/search":
		return []route{{http.MethodPost, plain(s.handleSearch)}}
	case "/api/api-keys":
		return []route{{http.MethodGet, s.handleAPIKeys}}
	case "/api/utm-incidents":
		return []route{{http.MethodGet, plain(s.handleIncidents)}}
	case "/api/utm-alerts/count-open-alerts":
		return []route{{http.MethodGet, plain(s.handleCountOpenAlerts)}}
	case "/api/utm-data-input-statuses":
		return []route{{http.MethodGet, plain(s.handleDataSources)}}
	case "/api/agent-manager/agents":
		return []route{{http.MethodGet, plain(s.handleAgents)}}
	}
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p, err := s.authenticate(r)
	if err != nil {
		s.SpringError(w, r, http.StatusInternalServerError)
		return
	}
	if status := s.authorize(r.URL.Path, p); status != 0 {
		s.SpringError(w, r, status)
		return
	}
	rs := s.routes(r.URL.Path)
	if len(rs) == 0 {
		s.SpringError(w, r, http.StatusNotFound)
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var allowed []string
	for _, rt := range rs {
		if rt.method == method {
			rt.handler(w, r, p)
			return
		}
		allowed = append(allowed, rt.method)
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	s.mvcError(w, r, http.StatusMethodNotAllowed, "Request method '"+r.Method+"' not supported")
}

// GET /api/ping: ResponseEntity.ok(HttpStatus.OK) serialises the enum.
func handlePing(w http.ResponseWriter, _ *http.Request) {
	writeRawJSON(w, http.StatusOK, []byte(`"OK"`))
}

// GET /management/info: Spring Actuator with build-info from a -Pprod build.
func (s *Server) handleInfo(w http.ResponseWriter, _ *http.Request) {
	type build struct {
		Artifact string `json:"artifact"`
		Name     string `json:"name"`
		Time     string `json:"time"`
		Version  string `json:"version"`
		Group    string `json:"group"`
	}
	writeJSON(w, http.StatusOK, struct {
		Build                   build    `json:"build"`
		ActiveProfiles          []string `json:"activeProfiles"`
		DisplayRibbonOnProfiles string   `json:"display-ribbon-on-profiles"`
	}{
		Build: build{
			Artifact: "utmstack",
			Name:     "UTMStack-API",
			Time:     "2025-11-20T12:00:00.000Z",
			Version:  s.opts.Version,
			Group:    "com.atlasinside",
		},
		ActiveProfiles:          []string{"prod"},
		DisplayRibbonOnProfiles: "dev",
	})
}
