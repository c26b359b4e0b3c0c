package round

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// problemKey names a problem: what it is about (a query, an index pattern;
// "" for the instance as a whole) and which it is.
type problemKey struct{ about, which string }

// problem is something wrong that the log tells once: at warning when it
// appears or changes, then at debug while it repeats when repeats is set
// (else not at all), and at info when it goes away. So a UTMStack that
// stays down does not flood the log.
type problem struct {
	problemKey
	msg, gone string // logged when it appears, when it goes
	repeats   bool
}

// tell logs p as it now stands: now is what it is, "" when it does not
// hold; args are the log line's attributes.
func (m *memory) tell(logger *slog.Logger, p problem, now string, args ...any) {
	was, held := m.logged[p.problemKey]
	switch {
	case now == "":
		if held {
			delete(m.logged, p.problemKey)
			logger.Info(p.gone, args...)
		}
	case !held || was != now:
		m.logged[p.problemKey] = now
		logger.Warn(p.msg, args...)
	case p.repeats:
		logger.Debug(p.msg, args...)
	}
}

// notice tells a problem that fails nothing: an index pattern that holds no
// alert, a breakdown field with no value, incidents the user may not read.
func (m *memory) notice(logger *slog.Logger, key problemKey, holds bool, msg string, args ...any) {
	now := ""
	if holds {
		now = msg
	}
	m.tell(logger, problem{key, msg, "resolved: " + msg, false}, now, args...)
}

// failure tells a failing query (or the incident counts), and its recovery.
func (m *memory) failure(logger *slog.Logger, key problemKey, query string, err error) {
	p := problem{key, "query failed", "query recovered", true}
	if err == nil {
		m.tell(logger, p, "", "query", query)
		return
	}
	m.tell(logger, p, err.Error(), "query", query, "err", err.Error())
}

// tellProblems logs what a round of g found wrong.
func (m *memory) tellProblems(logger *slog.Logger, g *generation, result *Result) {
	for pattern, n := range result.IndexAlerts {
		m.notice(logger, problemKey{pattern, "empty"}, n == 0, "the index pattern holds no alert at all: a wrong index_pattern (UTMStack v11 uses v11-alert-*, v10 alert-*), or UTMStack has never raised an alert",
			"index_pattern", pattern)
	}
	for k, q := range result.Queries {
		if !q.OK {
			continue
		}
		for _, b := range g.plans[k].breakdowns {
			if b.Name == config.BySeverity || b.Name == config.ByStatus {
				continue
			}
			m.notice(logger, problemKey{q.Name, "empty " + b.Name}, slices.Contains(q.Empty, b.Name), emptyFieldMessage(b.Breakdown),
				"query", q.Name, "breakdown", b.Name, "field", b.Field)
		}
	}
	if in := result.Incidents; in != nil {
		m.notice(logger, problemKey{"", "incidents forbidden"}, in.Forbidden(),
			"the UTMStack user may not read incidents (403 on /api/utm-incidents): utmstack_incidents is left out; give the user ROLE_USER, or set incidents: false",
			"err", fmt.Sprint(in.Err))
	}
	for _, q := range result.Queries {
		m.failure(logger, problemKey{q.Name, "failed"}, q.Name, q.Err)
	}
	if in := result.Incidents; in != nil && !in.Forbidden() {
		m.failure(logger, problemKey{"", "incidents failed"}, "incidents", in.Err)
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
