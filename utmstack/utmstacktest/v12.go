package utmstacktest

import "net/http"

// NewV12 returns a stand-in for the API of UTMStack v12 (the Go rewrite,
// still in development upstream) as far as this exporter meets it: every
// path lives under /api/v1, GET /api/v1/health answers {"status":"ok"}
// without credentials, and the v10/v11 paths the exporter calls answer 404
// with gin's plain body. It serves nothing else of v12.
func NewV12() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/api/v1/health" {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("404 page not found"))
	})
}
