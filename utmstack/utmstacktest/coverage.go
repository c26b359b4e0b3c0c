package utmstacktest

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DataSource is one row of utm_data_input_status: a source sending logs of
// one data type, and when it last did.
type DataSource struct {
	Source   string
	DataType string
	LastSeen time.Time
	// Median is the median gap between its logs, in whole seconds; 0 is
	// null (UTMStack has none).
	Median time.Duration
}

// Agent is one agent of the agent manager.
type Agent struct {
	ID       int
	Hostname string
	IP       string
	OS       string
	Platform string
	Version  string
	// Key is the agent's key; UTMStack never serves it ("SECRET").
	Key string
	// LastPing is the agent's last ping; zero means never.
	LastPing time.Time
	// Status, when set (ONLINE, OFFLINE, UNKNOWN), is served as is;
	// otherwise it is the agent manager's own rule: ONLINE within a minute
	// of the last ping, OFFLINE after it or without one.
	Status string
}

// coverage is what the fake knows of log sources and agents.
type coverage struct {
	mu          sync.Mutex
	sources     []DataSource
	agents      []Agent
	sourcesFail string // the cause of a failing data source read; "" when it works
	managerDown bool
	forbidden   map[string]bool // path -> 403
}

func newCoverage(opts Options) *coverage {
	return &coverage{sources: slices.Clone(opts.DataSources), agents: slices.Clone(opts.Agents), forbidden: map[string]bool{}}
}

// SetDataSources replaces the rows of utm_data_input_status.
func (s *Server) SetDataSources(sources []DataSource) {
	s.cov.mu.Lock()
	defer s.cov.mu.Unlock()
	s.cov.sources = slices.Clone(sources)
}

// SetAgents replaces the agents of the agent manager.
func (s *Server) SetAgents(agents []Agent) {
	s.cov.mu.Lock()
	defer s.cov.mu.Unlock()
	s.cov.agents = slices.Clone(agents)
}

// SetDataSourcesFailing makes the data source read fail with cause as
// UTMStack answers that: 200, no body, the cause in X-UtmStack-error. ""
// makes it work again.
func (s *Server) SetDataSourcesFailing(cause string) {
	s.cov.mu.Lock()
	defer s.cov.mu.Unlock()
	s.cov.sourcesFail = cause
}

// SetAgentManagerDown makes the agent manager unreachable from the backend:
// the agent list answers 500 with the gRPC failure in X-UtmStack-error.
func (s *Server) SetAgentManagerDown(down bool) {
	s.cov.mu.Lock()
	defer s.cov.mu.Unlock()
	s.cov.managerDown = down
}

// Forbid makes the path answer 403 as Spring's access-denied handler does
// to an authenticated user whose role may not read it (a proxy rule, or a
// UTMStack with per-endpoint permissions; v10 and v11 let ROLE_USER read
// both coverage endpoints). false allows it again.
func (s *Server) Forbid(path string, forbidden bool) {
	s.cov.mu.Lock()
	defer s.cov.mu.Unlock()
	s.cov.forbidden[path] = forbidden
}

func (s *Server) forbidden(path string) bool {
	s.cov.mu.Lock()
	defer s.cov.mu.Unlock()
	return s.cov.forbidden[path]
}

// GET /api/utm-data-input-statuses (UtmDataInputStatusResource): the rows
// of findImportantDatasource, every row of each source that sends at least
// one data type other than hids, utmstack and UTMStack and is not named
// "unknown"; a Spring Data page (page from 0, size 20 by default, at most
// 2000), sortable by an entity property; X-Total-Count and Link from
// PaginationUtil. Any failure is caught by the controller: 200, no body,
// the message in X-UtmStack-error.
func (s *Server) handleDataSources(w http.ResponseWriter, r *http.Request) {
	if s.forbidden(r.URL.Path) {
		s.SpringError(w, r, http.StatusForbidden)
		return
	}
	const ctx = "UtmDataInputStatusResource.getAllUtmDataInputStatuses: UtmDataInputStatusService.findImportantDatasource: "
	s.cov.mu.Lock()
	rows, cause := slices.Clone(s.cov.sources), s.cov.sourcesFail
	s.cov.mu.Unlock()
	fail := func(msg string) {
		w.Header().Set("X-UtmStack-error", ctx+msg)
		w.WriteHeader(http.StatusOK)
	}
	if cause != "" {
		fail(cause)
		return
	}
	q := r.URL.Query()
	page, size := springPage(q)
	important := map[string]bool{}
	for _, d := range rows {
		switch d.DataType {
		case "hids", "utmstack", "UTMStack":
		default:
			if d.Source != "unknown" {
				important[d.Source] = true
			}
		}
	}
	rows = slices.DeleteFunc(rows, func(d DataSource) bool { return !important[d.Source] })
	for _, order := range q["sort"] {
		prop, dir, _ := strings.Cut(order, ",")
		key, ok := dataSourceProperty(prop)
		if !ok {
			fail("No property '" + prop + "' found for type 'UtmDataInputStatus'")
			return
		}
		slices.SortStableFunc(rows, func(a, b DataSource) int {
			if strings.EqualFold(dir, "desc") {
				a, b = b, a
			}
			return key(a, b)
		})
	}
	total := len(rows)
	from := min(page*size, total)
	to := min(from+size, total)
	items := make([]map[string]any, 0, to-from)
	for _, d := range rows[from:to] {
		var median any
		if d.Median > 0 {
			median = int64(d.Median / time.Second)
		}
		items = append(items, map[string]any{
			"id": d.DataType + "-" + d.Source, "source": d.Source, "dataType": d.DataType,
			"timestamp": d.LastSeen.Unix(), "median": median,
		})
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	w.Header().Set("Link", paginationLink("/api/utm-data-input-statuses", page, size, total))
	writeJSON(w, http.StatusOK, items)
}

// dataSourceProperty orders rows by an entity property, as Spring Data's
// Sort does.
func dataSourceProperty(prop string) (func(a, b DataSource) int, bool) {
	switch prop {
	case "id":
		return func(a, b DataSource) int {
			return strings.Compare(a.DataType+"-"+a.Source, b.DataType+"-"+b.Source)
		}, true
	case "source":
		return func(a, b DataSource) int { return strings.Compare(a.Source, b.Source) }, true
	case "dataType":
		return func(a, b DataSource) int { return strings.Compare(a.DataType, b.DataType) }, true
	case "timestamp":
		return func(a, b DataSource) int { return a.LastSeen.Compare(b.LastSeen) }, true
	case "median":
		return func(a, b DataSource) int { return cmp.Compare(a.Median, b.Median) }, true
	}
	return nil, false
}

// GET /api/agent-manager/agents (AgentManagerResource.listAgents), which
// asks the agent manager over gRPC: pageNumber (absent: 0) and pageSize
// (absent: 1000000) become the agent manager's paginator, offset
// (pageNumber-1)*pageSize, so pages 0 and 1 are both the first; a pageSize
// of 0 is LIMIT 0 and lists nothing. sortBy "<column>,<asc|desc>" orders
// by a column. X-Total-Count counts every agent whatever the page. Each
// agent's key is replaced by "SECRET". A failure of the agent manager is a
// 500 with the gRPC error in X-UtmStack-error.
func (s *Server) handleAgents(w http.ResponseWriter, r *http.Request) {
	if s.forbidden(r.URL.Path) {
		s.SpringError(w, r, http.StatusForbidden)
		return
	}
	const ctx = "AgentManagerResource.listAgents: "
	q := r.URL.Query()
	param := func(name string, absent int) (int, bool) {
		v := q.Get(name)
		if v == "" {
			return absent, true
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			s.mvcError(w, r, http.StatusBadRequest, "Failed to convert value of type 'java.lang.String' to required type 'java.lang.Integer'; "+
				"nested exception is java.lang.NumberFormatException: For input string: \""+v+"\"")
			return 0, false
		}
		return int(n), true
	}
	page, ok := param("pageNumber", 0)
	if !ok {
		return
	}
	size, ok := param("pageSize", 1000000)
	if !ok {
		return
	}
	s.cov.mu.Lock()
	agents, down := slices.Clone(s.cov.agents), s.cov.managerDown
	s.cov.mu.Unlock()
	if down {
		utmError(w, http.StatusInternalServerError, ctx+"UNAVAILABLE: io exception")
		return
	}
	slices.SortStableFunc(agents, func(a, b Agent) int { return cmp.Compare(a.ID, b.ID) })
	if sortBy := q.Get("sortBy"); sortBy != "" {
		col, dir, _ := strings.Cut(sortBy, ",")
		var key func(a, b Agent) int
		switch col {
		case "id":
			key = func(a, b Agent) int { return cmp.Compare(a.ID, b.ID) }
		case "hostname":
			key = func(a, b Agent) int { return strings.Compare(a.Hostname, b.Hostname) }
		default:
			utmError(w, http.StatusInternalServerError, ctx+"INTERNAL: failed to fetch agents: ERROR: column \""+col+"\" does not exist (SQLSTATE 42703)")
			return
		}
		slices.SortStableFunc(agents, func(a, b Agent) int {
			if strings.EqualFold(dir, "desc") {
				a, b = b, a
			}
			return key(a, b)
		})
	}
	total := len(agents)
	from := min(max((page-1)*size, 0), total)
	to := total
	if size >= 0 {
		to = min(from+size, total)
	}
	now := s.now()
	items := make([]map[string]any, 0, to-from)
	for _, a := range agents[from:to] {
		status, lastSeen := a.Status, ""
		if !a.LastPing.IsZero() {
			lastSeen = a.LastPing.Format(time.DateTime)
		}
		if status == "" {
			status = "OFFLINE"
			if !a.LastPing.IsZero() && now.Sub(a.LastPing) <= time.Minute {
				status = "ONLINE"
			}
		}
		items = append(items, map[string]any{
			"ip": a.IP, "hostname": a.Hostname, "os": a.OS, "status": status, "platform": a.Platform,
			"version": a.Version, "agentKey": "SECRET", "id": a.ID, "lastSeen": lastSeen,
			"mac": "", "osMajorVersion": "", "osMinorVersion": "", "aliases": "", "addresses": "",
		})
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, items)
}
