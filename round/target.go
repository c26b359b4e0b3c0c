// Package round is what one scrape asks one UTMStack, and what it found:
// the plans of the configured queries, the rounds of upstream calls made
// from them, and what an instance remembers between rounds and reloads.
// It knows nothing of Prometheus; collector exports its results.
package round

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Target is one UTMStack instance with its queries, and its rounds.
//
// A round runs under the deadline of the scrape that started it. Scrapes
// that arrive while it runs wait for it, each until its own deadline.
// With min_interval, a round that finished less than min_interval ago is
// served again. What the instance knows beyond a round (last-success times,
// index totals, version, warnings given) lives in a Memory that a reload
// hands from the old target to the new one.
type Target struct {
	client      *utmstack.Client
	plans       []Plan
	incidents   bool
	timeout     time.Duration
	minInterval time.Duration
	concurrency int
	now         func() time.Time
	logger      *slog.Logger
	memory      *Memory

	mu      sync.Mutex
	running *inFlight         // nil when no round is in flight
	last    *Result           // the latest finished round, kept only for min_interval
	lastErr map[string]string // query name -> last error logged, to log repeats at debug
}

// inFlight is one round of upstream calls, shared by the scrapes waiting
// for it.
type inFlight struct {
	ctx    context.Context // its deadline cuts the calls
	done   chan struct{}
	result *Result // set before done is closed
}

// Memory is what an instance keeps across rounds and reloads.
type Memory struct {
	successes *successLog
	periodic  *periodic // kept only while the client is
	warnings  *warnings // likewise
}

// NewMemory is the memory of an instance seen for the first time.
func NewMemory() *Memory {
	return &Memory{successes: newSuccessLog(), periodic: newPeriodic(), warnings: newWarnings()}
}

// Reloaded is the memory a reload hands to the instance's next target. The
// last-success times always go along: a round still running on the old
// target records its successes where the new one reads them. What was read
// of UTMStack (index totals, version, warnings given) goes along only when
// the reload keeps the client (sameClient): it is still the same UTMStack.
func (m *Memory) Reloaded(sameClient bool) *Memory {
	if sameClient {
		return m
	}
	return &Memory{successes: m.successes, periodic: newPeriodic(), warnings: newWarnings()}
}

// LastSuccesses are the end times of each query's last successful round;
// a query that never succeeded is absent.
func (m *Memory) LastSuccesses() map[string]time.Time { return m.successes.snapshot() }

// NewTarget builds the target of the UTMStack u (its timeout, min_interval
// and max_concurrency), asked through client for the queries of plans
// (NewPlans), which it only reads; with incidents, its rounds count the
// incidents too. mem is the instance's memory: NewMemory, or the old
// target's Reloaded. now is the rounds' clock (fake clocks in tests).
func NewTarget(client *utmstack.Client, u config.UTMStack, plans []Plan, incidents bool, mem *Memory,
	now func() time.Time, logger *slog.Logger) *Target {
	mem.successes.keep(plans)
	mem.periodic.use(indexCalls(plans))
	return &Target{
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

// Scrape returns the result this scrape is served: a recent round's under
// min_interval, else that of the round in flight or of a new one. A new
// round runs under ctx's deadline (the configured timeout without one); a
// scrape that joins a round in flight waits for it until its own deadline,
// and is then served every query failed.
func (t *Target) Scrape(ctx context.Context) *Result {
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
func (t *Target) start(scrapeCtx context.Context) *inFlight {
	deadline, ok := scrapeCtx.Deadline()
	if !ok {
		deadline = time.Now().Add(t.timeout)
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(scrapeCtx), deadline)
	r := &inFlight{ctx: ctx, done: make(chan struct{})}
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
		for _, q := range result.Queries {
			t.logOutcomeLocked(q.Name, q.Err)
		}
		if result.Incidents != nil && !result.Incidents.Forbidden() {
			t.logOutcomeLocked("incidents", result.Incidents.Err)
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
func (t *Target) timedOut(err error) *Result {
	r := &Result{finished: t.now(), Queries: make([]QueryResult, len(t.plans)), Sightings: t.memory.periodic.current()}
	for i, p := range t.plans {
		r.Queries[i] = QueryResult{Name: p.query.Name, Err: err}
	}
	if t.incidents {
		r.Incidents = &Incidents{Err: err}
	}
	return r
}

// logOutcomeLocked logs a failing query (or the incident counts) once per
// round, at warning level when the failure is new and at debug while it
// repeats, so a UTMStack that stays down does not flood the log.
func (t *Target) logOutcomeLocked(query string, err error) {
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
func (s *successLog) record(result *Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range result.Queries {
		if q.OK && result.finished.After(s.at[q.Name]) {
			s.at[q.Name] = result.finished
		}
	}
}

// keep forgets the queries a reload removed, so the log stays bounded by
// the configuration.
func (s *successLog) keep(plans []Plan) {
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
