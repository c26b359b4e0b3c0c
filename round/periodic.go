package round

import (
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// What a round asks now and then rather than every time: every alert each
// index pattern holds, and UTMStack's version (again after a 401: a restart
// may be an upgrade). A round refreshes at most one of them, so the calls of
// a scrape stay the queries', the incidents' and one more.
const (
	indexEvery        = 5 * time.Minute
	versionEvery      = 10 * time.Minute
	retryAfterFailure = time.Minute
)

type refreshKind int

const (
	refreshNone refreshKind = iota
	refreshIndex
	refreshVersion
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

// periodic keeps the sightings of one instance and when each is due. It
// outlives reloads that keep the instance's client.
type periodic struct {
	mu           sync.Mutex
	calls        []utmstack.ValuesRequest // one unfiltered status count per index pattern
	seen         Sightings
	indexNext    time.Time
	versionNext  time.Time
	unauthorized uint64 // the client's count of 401s when the version was last asked
}

func newPeriodic() *periodic { return &periodic{} }

// use sets the index patterns the instance's queries read; a pattern not
// read yet makes the index totals due at once.
func (p *periodic) use(calls []utmstack.ValuesRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = calls
	for _, c := range calls {
		if _, ok := p.seen.IndexAlerts[c.Index]; !ok {
			p.indexNext = time.Time{}
		}
	}
}

// due picks what this round refreshes (with the index counts to make), and
// holds it back from rounds that start before this one records it.
func (p *periodic) due(now time.Time, unauthorized uint64) (refreshKind, []utmstack.ValuesRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case len(p.calls) > 0 && !now.Before(p.indexNext):
		p.indexNext = now.Add(retryAfterFailure)
		return refreshIndex, p.calls
	case !now.Before(p.versionNext) || unauthorized != p.unauthorized:
		p.versionNext, p.unauthorized = now.Add(retryAfterFailure), unauthorized
		return refreshVersion, nil
	}
	return refreshNone, nil
}

// record takes in the outcomes of a refresh and returns the sightings as
// they now stand.
func (p *periodic) record(kind refreshKind, calls []utmstack.ValuesRequest, os []outcome, now time.Time, logger *slog.Logger) Sightings {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch kind {
	case refreshIndex:
		totals := make(map[string]int64, len(os))
		for i, o := range os {
			if o.err != nil {
				logger.Debug("cannot count the alerts of an index pattern; trying again in a minute", "index_pattern", calls[i].Index, "err", o.err)
				return p.snapshot()
			}
			totals[calls[i].Index] = total(o.buckets)
		}
		p.seen.IndexAlerts, p.indexNext = totals, now.Add(indexEvery)
	case refreshVersion:
		if o := os[0]; o.err != nil {
			logger.Debug("cannot read UTMStack's version from /management/info; utmstack_info is left out", "err", o.err)
			p.seen.Version = ""
		} else {
			p.seen.Version, p.versionNext = labelValue(o.version), now.Add(versionEvery)
		}
	}
	return p.snapshot()
}

// current returns the sightings as they stand.
func (p *periodic) current() Sightings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snapshot()
}

func (p *periodic) snapshot() Sightings {
	s := Sightings{Version: p.seen.Version}
	if p.seen.IndexAlerts != nil {
		s.IndexAlerts = make(map[string]int64, len(p.calls))
		for _, c := range p.calls {
			if n, ok := p.seen.IndexAlerts[c.Index]; ok {
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
