package round

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Sightings are what the periodic calls last found.
type Sightings struct {
	// IndexAlerts are every alert each index pattern holds, by pattern;
	// nil until read.
	IndexAlerts map[string]int64
	// Version is UTMStack's own version, a label value; "" until read, or
	// when the last read failed.
	Version string
}

// periodic is a kind of call a round makes now and then rather than every
// time. A round makes at most one kind, so the calls of a scrape stay the
// queries', the incidents' and one more.
type periodic struct {
	every time.Duration
	// afterUnauthorized makes the kind due when the client met a 401 since
	// it was last asked.
	afterUnauthorized bool
	// calls are the kind's calls in a round of g; none: nothing to ask.
	calls func(g *generation) []job
	// record takes their outcomes into s, and tells whether they succeeded.
	record func(s *Sightings, g *generation, os []outcome, logger *slog.Logger) bool
	// covers, when set, tells whether s holds what g needs of the kind;
	// a reload that brings more makes the kind due at once.
	covers func(s Sightings, g *generation) bool
}

// A kind that failed is asked again after a minute.
const retryAfterFailure = time.Minute

var periodics = []periodic{
	{ // every alert each index pattern holds
		every: 5 * time.Minute,
		calls: func(g *generation) []job {
			jobs := make([]job, len(g.index))
			for k, req := range g.index {
				jobs[k] = func(ctx context.Context, o *outcome) { o.buckets, o.err = g.client.ValuesWithCount(ctx, req) }
			}
			return jobs
		},
		record: func(s *Sightings, g *generation, os []outcome, logger *slog.Logger) bool {
			totals := make(map[string]int64, len(os))
			for k, o := range os {
				if o.err != nil {
					logger.Debug("cannot count the alerts of an index pattern; trying again in a minute", "index_pattern", g.index[k].Index, "err", o.err)
					return false
				}
				totals[g.index[k].Index] = total(o.buckets)
			}
			s.IndexAlerts = totals
			return true
		},
		covers: func(s Sightings, g *generation) bool {
			for _, c := range g.index {
				if _, ok := s.IndexAlerts[c.Index]; !ok {
					return false
				}
			}
			return true
		},
	},
	{ // UTMStack's version, again after a 401: a restart may be an upgrade
		every:             10 * time.Minute,
		afterUnauthorized: true,
		calls: func(g *generation) []job {
			return []job{func(ctx context.Context, o *outcome) { o.version, o.err = g.client.Version(ctx) }}
		},
		record: func(s *Sightings, _ *generation, os []outcome, logger *slog.Logger) bool {
			if err := os[0].err; err != nil {
				logger.Debug("cannot read UTMStack's version from /management/info; utmstack_info is left out", "err", err)
				s.Version = ""
				return false
			}
			s.Version = labelValue(os[0].version)
			return true
		},
	},
}

// due picks the kind of periodic call this round makes (-1: none) and its
// calls, and holds the kind back from rounds that start before this one
// records it. unauthorized is the client's count of 401s.
func (m *memory) due(g *generation, now time.Time, unauthorized uint64) (int, []job) {
	for k, p := range periodics {
		if now.Before(m.next[k]) && (!p.afterUnauthorized || unauthorized == m.unauthorized) {
			continue
		}
		jobs := p.calls(g)
		if len(jobs) == 0 {
			continue
		}
		m.next[k] = now.Add(retryAfterFailure)
		if p.afterUnauthorized {
			m.unauthorized = unauthorized
		}
		return k, jobs
	}
	return -1, nil
}

// record takes in the outcomes of the calls of kind, made in a round that
// finished at now.
func (m *memory) record(kind int, g *generation, os []outcome, now time.Time, logger *slog.Logger) {
	if p := periodics[kind]; p.record(&m.sightings, g, os, logger) {
		m.next[kind] = now.Add(p.every)
	}
}

// seen are the sightings as they stand, of g's index patterns.
func (m *memory) seen(g *generation) Sightings {
	s := Sightings{Version: m.sightings.Version}
	if m.sightings.IndexAlerts != nil {
		s.IndexAlerts = make(map[string]int64, len(g.index))
		for _, c := range g.index {
			if n, ok := m.sightings.IndexAlerts[c.Index]; ok {
				s.IndexAlerts[c.Index] = n
			}
		}
	}
	return s
}

// indexCalls are the unfiltered counts of every distinct index pattern of
// the plans, on the status field (every alert has one).
func indexCalls(plans []Plan) []utmstack.ValuesRequest {
	byPattern := map[string]string{}
	for _, p := range plans {
		if _, ok := byPattern[p.query.IndexPattern]; !ok {
			byPattern[p.query.IndexPattern] = p.query.Fields.Status
		}
	}
	var calls []utmstack.ValuesRequest
	for _, pattern := range slices.Sorted(maps.Keys(byPattern)) {
		calls = append(calls, utmstack.ValuesRequest{Index: pattern, Field: byPattern[pattern], Top: enumBuckets})
	}
	return calls
}
