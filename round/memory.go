package round

import (
	"maps"
	"time"
)

// memory is what an instance remembers beyond a round; Instance.reload
// says what of it survives a reload. The instance's mutex guards it.
type memory struct {
	successes map[string]time.Time // query -> end of its last successful round
	sightings Sightings            // what the periodic calls last found
	next      []time.Time          // when each kind of periodics is next due
	// unauthorized is the client's count of 401s when the kinds asked
	// again after one were last asked.
	unauthorized uint64
	logged       map[problemKey]string // the problems logged and not resolved -> what each was
	coverage     coverageMemory
}

func newMemory() memory {
	return memory{successes: map[string]time.Time{}, next: make([]time.Time, len(periodics)), logged: map[problemKey]string{}}
}

// keep forgets what concerns the queries and index patterns g no longer
// has, so the memory stays bounded by the configuration, and makes due at
// once the periodic kinds whose sightings do not cover g.
func (m *memory) keep(g *generation) {
	about := map[string]bool{"": true}
	for _, p := range g.plans {
		about[p.query.Name] = true
	}
	for _, c := range g.index {
		about[c.Index] = true
	}
	maps.DeleteFunc(m.successes, func(query string, _ time.Time) bool { return !about[query] })
	maps.DeleteFunc(m.logged, func(k problemKey, _ string) bool { return !about[k.about] })
	for k, p := range periodics {
		if p.covers != nil && !p.covers(m.sightings, g) {
			m.next[k] = time.Time{}
		}
	}
}

// recordSuccesses keeps the end of the round as the last success of each
// query that succeeded in it, unless a later round already did.
func (m *memory) recordSuccesses(result *Result) {
	for _, q := range result.Queries {
		if q.OK && result.finished.After(m.successes[q.Name]) {
			m.successes[q.Name] = result.finished
		}
	}
}
