package collector

import (
	"fmt"
	"net/http"
	"strings"
)

// ProbeHandler serves /probe?target=<name>: the named target's queries and
// counters. Only configured names are accepted, so the exporter never sends
// credentials, or anything, to an address it was not given.
func (e *Exporter) ProbeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("target")
		e.mu.RLock()
		t, ok := e.probes[name]
		e.mu.RUnlock()
		if !ok {
			e.opts.Metrics.unknownTarget.Inc()
			http.Error(w, unknownTargetMessage(name), http.StatusBadRequest)
			return
		}
		e.serve(w, r, t, nil, t.metrics)
	})
}

func unknownTargetMessage(name string) string {
	switch {
	case name == "":
		return "missing the target parameter: /probe?target=<name of a target in the configuration>"
	case strings.ContainsAny(name, "/:"):
		return fmt.Sprintf("target %q looks like an address; /probe takes only the name of a target in the configuration's targets section", truncate(name))
	}
	return fmt.Sprintf("unknown target %q: it is not in the configuration's targets section", truncate(name))
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
