package round

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// warnings logs a problem that does not fail a scrape once, when it
// appears, and again only after it went away and came back: an index
// pattern that holds no alert, a breakdown field with no value, incidents
// the user may not read.
type warnings struct {
	mu     sync.Mutex
	active map[string]bool
}

func newWarnings() *warnings { return &warnings{active: map[string]bool{}} }

// set records whether the problem named key holds now, and logs it when it
// has just appeared.
func (w *warnings) set(logger *slog.Logger, key string, holds bool, msg string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case holds && !w.active[key]:
		w.active[key] = true
		logger.Warn(msg, args...)
	case !holds && w.active[key]:
		delete(w.active, key)
		logger.Info("resolved: "+msg, args...)
	}
}

// warn reports the problems a round found that fail nothing.
func (t *Target) warn(result *Result) {
	w, log := t.memory.warnings, t.logger
	for pattern, n := range result.IndexAlerts {
		w.set(log, "pattern "+pattern, n == 0, "the index pattern holds no alert at all: a wrong index_pattern (UTMStack v11 uses v11-alert-*, v10 alert-*), or UTMStack has never raised an alert",
			"index_pattern", pattern)
	}
	for i, q := range result.Queries {
		if !q.OK {
			continue
		}
		for _, b := range t.plans[i].breakdowns {
			if b.Name == config.BySeverity || b.Name == config.ByStatus {
				continue
			}
			w.set(log, "field "+q.Name+" "+b.Name, slices.Contains(q.Empty, b.Name), emptyFieldMessage(b.Breakdown),
				"query", q.Name, "breakdown", b.Name, "field", b.Field)
		}
	}
	if result.Incidents != nil {
		w.set(log, "incidents forbidden", result.Incidents.Forbidden(),
			"the UTMStack user may not read incidents (403 on /api/utm-incidents): utmstack_incidents is left out; give the user ROLE_USER, or set incidents: false",
			"err", fmt.Sprint(result.Incidents.Err))
	}
}

func emptyFieldMessage(b config.Breakdown) string {
	msg := "the breakdown's field has no value on any of the query's alerts: every alert is counted as " + labelOther
	if b.Name == config.ByCountry {
		return msg + "; check fields.country (UTMStack v11: adversary.geolocation.countryCode.keyword, v10: source.countryCode.keyword)"
	}
	return msg + "; check the field name, and that it is a keyword field (name.keyword, not name)"
}

// isForbidden tells an incident count refused with 403.
func isForbidden(err error) bool {
	var e *utmstack.Error
	return errors.As(err, &e) && e.Status == http.StatusForbidden
}
