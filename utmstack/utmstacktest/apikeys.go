package utmstacktest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GET /api/api-keys (ApiKeyResource, v11.0.x): the caller's own keys as
// ApiKeyResponseDTO, without the key itself, with PaginationUtil's headers.
// Legacy backends have no API keys and no such endpoint.
func (s *Server) handleAPIKeys(w http.ResponseWriter, r *http.Request, p *principal) {
	if s.opts.Edition != EditionCurrent {
		s.SpringError(w, r, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	var mine []map[string]any
	for i, k := range s.apiKeys {
		user := k.User
		if user == "" {
			user = defaultAdmin
		}
		if !strings.EqualFold(user, p.login) {
			continue
		}
		var expires any
		if !k.ExpiresAt.IsZero() {
			expires = k.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		created := s.now().Add(-24 * time.Hour).UTC().Format(time.RFC3339Nano)
		mine = append(mine, map[string]any{
			"id": i + 1, "name": "key-" + strconv.Itoa(i+1), "allowedIp": append([]string{}, k.AllowedIPs...),
			"createdAt": created, "generatedAt": created, "expiresAt": expires,
		})
	}
	s.mu.Unlock()
	if mine == nil {
		mine = []map[string]any{}
	}
	page, size := springPage(r.URL.Query())
	w.Header().Set("X-Total-Count", strconv.Itoa(len(mine)))
	w.Header().Set("Link", paginationLink("/api/api-keys", page, size, len(mine)))
	from := min(page*size, len(mine))
	writeJSON(w, http.StatusOK, mine[from:min(from+size, len(mine))])
}
