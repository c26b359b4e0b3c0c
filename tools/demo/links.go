package main

import (
	"context"
	"net/http"
	"time"
)

// answers reports whether url answers 200 (redirects followed).
func answers(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// prometheusUI is the path prefix of the Prometheus pages that this
// Prometheus serves: "" for its own UI, "/classic" for Debian's package,
// which has only the classic pages (/classic/graph, /classic/alerts).
func prometheusUI(ctx context.Context, base string) (prefix string, ok bool) {
	for _, p := range []string{"", "/classic"} {
		if answers(ctx, base+p+"/alerts") {
			return p, true
		}
	}
	return "", false
}

// alertmanagerUI reports whether this Alertmanager serves its web UI:
// Debian's package answers / with a page saying it is not included, and
// has no /script.js.
func alertmanagerUI(ctx context.Context, base string) bool {
	return answers(ctx, base+"/script.js")
}
