package utmstacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Incident is one UTMStack incident (the utm_incident table).
type Incident struct {
	ID          int64
	Name        string
	Description string
	// Status is an IncidentStatusEnum name: OPEN, IN_REVIEW, COMPLETED or
	// MERGED.
	Status   string
	Severity int
	Created  time.Time
}

// incidentStatuses is IncidentStatusEnum, in its order.
var incidentStatuses = []string{"OPEN", "IN_REVIEW", "COMPLETED", "MERGED"}

// SetIncidents replaces the incidents.
func (s *Server) SetIncidents(incidents []Incident) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incidents = slices.Clone(incidents)
}

// GET /api/utm-incidents (UtmIncidentResource.getAllUtmIncidents): JHipster
// criteria (incidentStatus.equals, .notEquals, .in, .notIn), a Spring Data
// page (0-based, size 20 by default, at most 2000) and PaginationUtil's
// X-Total-Count and Link headers; the body a bare array of incidents.
func (s *Server) handleIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	match, field, violation := incidentStatusCriteria(q)
	if violation != "" {
		bindProblem(w, r, field, violation)
		return
	}
	s.mu.Lock()
	var found []Incident
	for _, in := range s.incidents {
		if match(in.Status) {
			found = append(found, in)
		}
	}
	s.mu.Unlock()

	page, size := springPage(q)
	total := len(found)
	from := min(page*size, total)
	to := min(from+size, total)
	items := make([]map[string]any, 0, to-from)
	for _, in := range found[from:to] {
		items = append(items, map[string]any{
			"id": in.ID, "incidentName": in.Name, "incidentDescription": in.Description,
			"incidentStatus": in.Status, "incidentAssignedTo": nil, "incidentSeverity": in.Severity,
			"incidentCreatedDate": in.Created.UTC().Format(time.RFC3339Nano), "incidentSolution": nil,
		})
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	w.Header().Set("Link", paginationLink("/api/utm-incidents", page, size, total))
	writeJSON(w, http.StatusOK, items)
}

// incidentStatusCriteria reads the incidentStatus filter. Spring binds each
// value with Enum.valueOf: case-sensitive, trimmed; an unknown name is a
// bind failure, reported as the field and the violation's message.
func incidentStatusCriteria(q url.Values) (match func(string) bool, field, violation string) {
	parse := func(op string) ([]string, string) {
		var out []string
		for _, raw := range q["incidentStatus."+op] {
			for v := range strings.SplitSeq(raw, ",") {
				v = strings.TrimSpace(v)
				if v == "" {
					continue
				}
				if !slices.Contains(incidentStatuses, v) {
					return nil, fmt.Sprintf("Failed to convert property value of type 'java.lang.String' to required type "+
						"'com.park.utmstack.domain.incident.enums.IncidentStatusEnum' for property 'incidentStatus.%s'; "+
						"nested exception is java.lang.IllegalArgumentException: No enum constant "+
						"com.park.utmstack.domain.incident.enums.IncidentStatusEnum.%s", op, v)
				}
				out = append(out, v)
			}
		}
		return out, ""
	}
	var sets [4][]string
	for i, op := range []string{"equals", "notEquals", "in", "notIn"} {
		var msg string
		if sets[i], msg = parse(op); msg != "" {
			return nil, "incidentStatus." + op, msg
		}
	}
	equals, notEquals, in, notIn := sets[0], sets[1], sets[2], sets[3]
	return func(status string) bool {
		return (len(equals) == 0 || status == equals[len(equals)-1]) &&
			(len(notEquals) == 0 || status != notEquals[len(notEquals)-1]) &&
			(len(in) == 0 || slices.Contains(in, status)) &&
			!slices.Contains(notIn, status)
	}, "", ""
}

// springPage is Spring Data's Pageable resolution: page 0-based (negative
// means 0), size 20 when absent or below 1, at most 2000.
func springPage(q url.Values) (page, size int) {
	page, _ = strconv.Atoi(q.Get("page"))
	page = max(page, 0)
	size, err := strconv.Atoi(q.Get("size"))
	if err != nil || size < 1 {
		size = defaultPageSize
	}
	return page, min(size, maxPageSize)
}

// paginationLink is JHipster's PaginationUtil Link header: next and prev
// when they exist, then last and first, without the filter parameters.
func paginationLink(path string, page, size, total int) string {
	pages := (total + size - 1) / size
	last := max(pages-1, 0)
	link := func(p int, rel string) string {
		return fmt.Sprintf("<%s?page=%d&size=%d>; rel=\"%s\"", path, p, size, rel)
	}
	var out []string
	if page+1 < pages {
		out = append(out, link(page+1, "next"))
	}
	if page > 0 {
		out = append(out, link(page-1, "prev"))
	}
	return strings.Join(append(out, link(last, "last"), link(0, "first")), ",")
}

// bindProblem is ExceptionTranslator's answer to a BindException: a 400
// constraint-violation problem naming the field, without X-UtmStack-error.
func bindProblem(w http.ResponseWriter, r *http.Request, field, msg string) {
	body, _ := json.Marshal(map[string]any{
		"type":       "https://zalando.github.io/problem/constraint-violation",
		"title":      "Constraint Violation",
		"status":     http.StatusBadRequest,
		"path":       r.URL.Path,
		"violations": []map[string]string{{"field": field, "message": msg}},
		"message":    "error.validation",
	})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body)
}
