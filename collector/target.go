package collector

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// target is one UTMStack instance with its queries, and its rounds.
//
// A round runs under the deadline of the scrape that started it. Scrapes
// that arrive while it runs wait for it, each until its own deadline.
// With min_interval, a round that finished less than min_interval ago is
// served again. What the instance knows beyond a round (last-success times,
// index totals, version, warnings given) lives in a memory that a reload
// hands from the old target to the new one.
type target struct {
	url         string // scheme://host[:port]
	client      *utmstack.Client
	plans       []queryPlan
	incidents   bool
	timeout     time.Duration
	minInterval time.Duration
	concurrency int
	now         func() time.Time
	logger      *slog.Logger
	memory      *memory

	mu      sync.Mutex
	running *round            // nil when no round is in flight
	last    *roundResult      // the latest finished round, kept only for min_interval
	lastErr map[string]string // query name -> last error logged, to log repeats at debug
}

// round is one set of upstream calls, shared by the scrapes waiting for it.
type round struct {
	ctx    context.Context // its deadline cuts the calls
	done   chan struct{}
	result *roundResult // set before done is closed
}

// memory is what an instance keeps across rounds and reloads.
type memory struct {
	successes *successLog
	periodic  *periodic // kept only while the client is
	warnings  *warnings // likewise
}

// newTarget builds a target from its queries' plans (plan.go), which it
// only reads.
func newTarget(client *utmstack.Client, u config.UTMStack, plans []queryPlan, incidents bool, mem *memory,
	now func() time.Time, logger *slog.Logger) *target {
	mem.successes.keep(plans)
	mem.periodic.use(indexCalls(plans))
	return &target{
		url:         u.URL.String(),
		client:      client,
		plans:       plans,
		incidents:   incidents,
		timeout:     u.Timeout,
		minInterval: u.MinInterval,
		concurrency: u.MaxConcurrency,
		now:         now,
		logger:      logger,
		memory:      mem,
		lastErr:     map[string]string{},
	}
}

// scrape returns the result this scrape is served: a recent round's under
// min_interval, else that of the round in flight or of a new one.
func (t *target) scrape(ctx context.Context) *roundResult {
	t.mu.Lock()
	if t.minInterval > 0 && t.last != nil && t.now().Sub(t.last.finished) < t.minInterval {
		defer t.mu.Unlock()
		return t.last
	}
	r := t.running
	started := r == nil || r.ctx.Err() != nil // a round whose calls are cut is not joined
	if started {
		r = t.start(ctx)
	}
	t.mu.Unlock()

	if started {
		// The round's deadline is this scrape's: it ends in time.
		<-r.done
		return r.result
	}
	select {
	case <-r.done:
		return r.result
	case <-ctx.Done():
		return t.timedOut(context.Cause(ctx))
	}
}

// start begins a round under the deadline of the scrape that asked for it.
// The round outlives that scrape's client going away: others may wait for it.
func (t *target) start(scrapeCtx context.Context) *round {
	deadline, ok := scrapeCtx.Deadline()
	if !ok {
		deadline = time.Now().Add(t.timeout)
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(scrapeCtx), deadline)
	r := &round{ctx: ctx, done: make(chan struct{})}
	t.running = r
	go func() {
		defer cancel()
		result := t.runRound(ctx)
		t.memory.successes.record(result)
		t.warn(result)
		t.mu.Lock()
		if t.running == r {
			t.running = nil
		}
		// Without min_interval no scrape is served an old round: a
		// thousand targets need not each hold their last one.
		if t.minInterval > 0 && (t.last == nil || !result.finished.Before(t.last.finished)) {
			t.last = result
		}
		for _, q := range result.queries {
			t.logOutcomeLocked(q.name, q.err)
		}
		if result.incidents != nil && !isForbidden(result.incidents.err) {
			t.logOutcomeLocked("incidents", result.incidents.err)
		}
		t.mu.Unlock()
		r.result = result
		close(r.done)
	}()
	return r
}

// timedOut is the answer of a scrape whose deadline passed while it waited:
// every query and the incident counts failed, the periodic sightings as
// they stand.
func (t *target) timedOut(err error) *roundResult {
	r := &roundResult{finished: t.now(), queries: make([]queryResult, len(t.plans)), sightings: t.memory.periodic.current()}
	for i, p := range t.plans {
		r.queries[i] = queryResult{name: p.query.Name, err: err}
	}
	if t.incidents {
		r.incidents = &incidentResult{err: err}
	}
	return r
}

// logOutcomeLocked logs a failing query (or the incident counts) once per
// round, at warning level when the failure is new and at debug while it
// repeats, so a UTMStack that stays down does not flood the log.
func (t *target) logOutcomeLocked(query string, err error) {
	previous, failing := t.lastErr[query]
	if err == nil {
		if failing {
			t.logger.Info("query recovered", "query", query)
			delete(t.lastErr, query)
		}
		return
	}
	msg := err.Error()
	level := slog.LevelWarn
	if failing && previous == msg {
		level = slog.LevelDebug
	}
	t.logger.Log(context.Background(), level, "query failed", "query", query, "err", msg)
	t.lastErr[query] = msg
}

// successLog remembers when each query of one instance last succeeded. It
// outlives reloads, so a round still running on a replaced target records
// its successes where the new target reads them.
type successLog struct {
	mu sync.Mutex
	at map[string]time.Time
}

func newSuccessLog() *successLog { return &successLog{at: map[string]time.Time{}} }

// record keeps the end of the round as the last success of each query that
// succeeded in it, unless a later round already did.
func (s *successLog) record(result *roundResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range result.queries {
		if q.ok && result.finished.After(s.at[q.name]) {
			s.at[q.name] = result.finished
		}
	}
}

// keep forgets the queries a reload removed, so the log stays bounded by
// the configuration.
func (s *successLog) keep(plans []queryPlan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make(map[string]bool, len(plans))
	for _, p := range plans {
		names[p.query.Name] = true
	}
	maps.DeleteFunc(s.at, func(name string, _ time.Time) bool { return !names[name] })
}

func (s *successLog) snapshot() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.at)
}
