// Package round is what one scrape asks one UTMStack, and what it found:
// the plans of the configured queries, the rounds of upstream calls made
// from them, and the Instance that owns one UTMStack's client, memory and
// rounds across scrapes and reloads. It knows nothing of Prometheus;
// collector exports its results.
package round

import (
	"maps"
	"reflect"
	"sync"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Instance is one UTMStack, and the one owner of all that concerns it: the
// client that asks it, what it remembers between rounds, and the rounds.
// A reload passes through it (Env.Prepare, then Commit), and so does every
// scrape (Scrape).
type Instance struct {
	env Env

	mu      sync.Mutex
	gen     *generation
	mem     memory
	running *inFlight // the round of gen in flight, nil when none
	last    *Result   // gen's latest round that ran uncut, kept for min_interval only
}

// Setup is one configuration of an instance.
type Setup struct {
	// UTMStack gives the client's settings, the timeout, min_interval and
	// max_concurrency.
	UTMStack config.UTMStack
	// Plans are its queries' (NewPlans), only read: instances of the same
	// queries share them.
	Plans []Plan
	// Incidents makes its rounds count the incidents too.
	Incidents bool
	// Coverage says what its rounds read of UTMStack's log sources and
	// agents; the zero value reads nothing.
	Coverage config.Coverage
	// Hooks are the counters its client feeds.
	Hooks utmstack.Hooks
	// Keep is how many idle connections its client keeps between rounds.
	Keep int
}

// generation is an instance under one configuration: what its rounds ask,
// and of which client. It is only read once made.
type generation struct {
	client      Client
	settings    utmstack.Options // the client's settings from the configuration
	plans       []Plan
	index       []utmstack.ValuesRequest // an unfiltered count per index pattern
	incidents   bool
	coverage    config.Coverage
	timeout     time.Duration // also the client's login timeout
	minInterval time.Duration
	concurrency int
	keep        int // the client's idle connections
}

// Pending is a configuration made ready for an instance, with a client
// built for it when it needs a new one; nothing has changed yet. Commit
// applies it, Discard drops it.
type Pending struct {
	env   Env
	inst  *Instance // nil: a new instance
	gen   *generation
	built bool // gen.client was built for it
}

// New is the instance of s, seen for the first time.
func New(env Env, s Setup) (*Instance, error) {
	p, err := env.Prepare(nil, s)
	if err != nil {
		return nil, err
	}
	return p.Commit(), nil
}

// Prepare readies s for inst (nil: a new instance). inst's client is kept,
// and with it its token and login backoff, when the settings it was built
// from (URL, credentials, TLS, proxy) are unchanged; Commit then adjusts
// its login timeout (utmstack.timeout) and kept connections (Keep), which
// need no new client and so no new login. Otherwise a new one is built.
func (env Env) Prepare(inst *Instance, s Setup) (*Pending, error) {
	env = env.withDefaults()
	u := s.UTMStack
	g := &generation{settings: u.ClientOptions(utmstack.Options{}), plans: s.Plans, index: indexCalls(s.Plans),
		incidents: s.Incidents, coverage: s.Coverage, timeout: u.Timeout, minInterval: u.MinInterval, concurrency: u.MaxConcurrency, keep: s.Keep}
	p := &Pending{env: env, inst: inst, gen: g}
	if inst != nil {
		if old := inst.generation(); reflect.DeepEqual(old.settings, g.settings) {
			g.client = old.client
			return p, nil
		}
	}
	c, err := env.newClient(s, g.settings)
	if err != nil {
		return nil, err
	}
	g.client, p.built = c, true
	return p, nil
}

// Commit makes the configuration the instance's, closes the client it
// replaces, and returns the instance.
func (p *Pending) Commit() *Instance {
	i := p.inst
	if i == nil {
		i = &Instance{env: p.env}
	}
	if !p.built {
		p.gen.client.Adjust(p.gen.keep, p.gen.timeout)
	}
	i.mu.Lock()
	replaced := i.reload(p.gen)
	i.mu.Unlock()
	if replaced != nil {
		replaced.Close()
	}
	return i
}

// Discard drops the configuration, closing the client built for it.
func (p *Pending) Discard() {
	if p.built {
		p.gen.client.Close()
	}
}

// reload makes g the instance's configuration. It is the one place that
// says what survives a reload:
//   - the last-success times, always, except those of queries g no longer has:
//     a round still running under the old configuration records its
//     successes where the new one reads them;
//   - what was read of UTMStack (the periodic sightings and when each is
//     due) and the problems already logged, only when g keeps the client:
//     it is still the same UTMStack asked the same way. A new client
//     starts afresh, and its problems are told again;
//   - the round in flight and the round kept for min_interval, never: they
//     answer the old queries. The old round ends on its own and records
//     only its successes.
//
// It returns the client g replaces, for the caller to close; nil if none.
func (i *Instance) reload(g *generation) (replaced Client) {
	old := i.gen
	i.gen, i.running, i.last = g, nil, nil
	if old == nil || old.client != g.client {
		successes := i.mem.successes
		i.mem.coverage.stop() // of the client being replaced
		i.mem = newMemory()
		maps.Copy(i.mem.successes, successes)
		if old != nil {
			replaced = old.client
		}
	}
	i.mem.keep(g)
	return replaced
}

func (i *Instance) generation() *generation {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.gen
}

// Close stops the coverage read in flight and closes the instance's
// client; a round in flight ends on its own.
func (i *Instance) Close() {
	i.mu.Lock()
	i.mem.coverage.stop()
	c := i.gen.client
	i.mu.Unlock()
	c.Close()
}

// LastSuccesses are the end times of each query's last successful round;
// a query that never succeeded is absent.
func (i *Instance) LastSuccesses() map[string]time.Time {
	i.mu.Lock()
	defer i.mu.Unlock()
	return maps.Clone(i.mem.successes)
}
