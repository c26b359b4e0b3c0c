package collector

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// target is one UTMStack instance with its queries. Scrapes that arrive
// while a round is in flight share it, and with min_interval > 0 a recent
// round is served again instead of asking UTMStack.
type target struct {
	client      *utmstack.Client
	plans       []queryPlan
	timeout     time.Duration
	minInterval time.Duration
	concurrency int
	now         func() time.Time
	logger      *slog.Logger

	mu          sync.Mutex
	inflight    *pendingRound
	last        *roundResult
	lastSuccess map[string]time.Time // query name -> end of its last good round
	lastErr     map[string]string    // query name -> last error logged, to log repeats at debug

	onShare func() // tests: called when a scrape joins a round already in flight
}

type pendingRound struct {
	done      chan struct{}
	result    *roundResult
	successes map[string]time.Time // as the round ended
	families  sharedFamilies       // gathered once for every scrape that waited
}

func newTarget(client *utmstack.Client, u config.UTMStack, queries []config.Query, now func() time.Time, logger *slog.Logger) *target {
	plans := make([]queryPlan, len(queries))
	for i, q := range queries {
		plans[i] = newQueryPlan(q)
	}
	return &target{
		client:      client,
		plans:       plans,
		timeout:     u.Timeout,
		minInterval: u.MinInterval,
		concurrency: u.MaxConcurrency,
		now:         now,
		logger:      logger,
		lastSuccess: map[string]time.Time{},
		lastErr:     map[string]string{},
	}
}

// scrape returns the result of the round this scrape belongs to. If ctx ends
// before a shared round does, the scrape answers with every query failed
// rather than wait past its own deadline.
//
// A result reused under min_interval is gathered afresh by each scrape, so
// that the Go and process metrics beside it stay current.
func (t *target) scrape(ctx context.Context) served {
	t.mu.Lock()
	if t.minInterval > 0 && t.last != nil && t.now().Sub(t.last.finished) < t.minInterval {
		last := t.last
		successes := t.successesLocked()
		t.mu.Unlock()
		return served{result: last, successes: successes}
	}
	pending := t.inflight
	started := pending == nil
	if started {
		pending = &pendingRound{done: make(chan struct{})}
		t.inflight = pending
		go t.run(ctx, pending)
	} else if t.onShare != nil {
		t.onShare()
	}
	t.mu.Unlock()

	// The scrape that started the round shares its deadline: the round's
	// calls are cancelled at that very moment, so waiting for the round's
	// result (what finished in time) is bounded and loses nothing.
	var timeout <-chan struct{}
	if !started {
		timeout = ctx.Done()
	}
	select {
	case <-pending.done:
		return served{result: pending.result, successes: pending.successes, shared: &pending.families}
	case <-timeout:
		t.mu.Lock()
		defer t.mu.Unlock()
		return served{result: t.timedOut(ctx.Err()), successes: t.successesLocked()}
	}
}

// run performs one round under the deadline of the scrape that started it.
// It does not end when that scrape's client goes away: other scrapes may be
// waiting for it.
func (t *target) run(scrapeCtx context.Context, pending *pendingRound) {
	ctx := context.WithoutCancel(scrapeCtx)
	var cancel context.CancelFunc
	if deadline, ok := scrapeCtx.Deadline(); ok {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	} else {
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
	}
	defer cancel()

	result := runRound(ctx, t.client, t.plans, t.concurrency, t.now)

	t.mu.Lock()
	for _, q := range result.queries {
		if q.ok {
			t.lastSuccess[q.name] = result.finished
		}
		t.logOutcomeLocked(q)
	}
	t.last = result
	t.inflight = nil
	pending.result = result
	pending.successes = t.successesLocked()
	t.mu.Unlock()
	close(pending.done)
}

// timedOut is the answer of a scrape whose deadline passed while it waited.
func (t *target) timedOut(err error) *roundResult {
	r := &roundResult{finished: t.now(), queries: make([]queryResult, len(t.plans))}
	for i, p := range t.plans {
		r.queries[i] = queryResult{name: p.query.Name, err: err}
	}
	return r
}

func (t *target) successesLocked() map[string]time.Time {
	out := make(map[string]time.Time, len(t.lastSuccess))
	for k, v := range t.lastSuccess {
		out[k] = v
	}
	return out
}

// logOutcomeLocked logs a failing query once per round, at warning level
// when the failure is new and at debug while it repeats, so a UTMStack that
// stays down does not flood the log.
func (t *target) logOutcomeLocked(q queryResult) {
	previous, failing := t.lastErr[q.name]
	if q.ok {
		if failing {
			t.logger.Info("query recovered", "query", q.name)
			delete(t.lastErr, q.name)
		}
		return
	}
	msg := q.err.Error()
	level := slog.LevelWarn
	if failing && previous == msg {
		level = slog.LevelDebug
	}
	t.logger.Log(context.Background(), level, "query failed", "query", q.name, "err", msg)
	t.lastErr[q.name] = msg
}

// adopt carries over what a target replaced by a reload knew about queries
// that still exist, so last-success timestamps survive a reload.
func (t *target) adopt(old *target) {
	old.mu.Lock()
	defer old.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.plans {
		if ts, ok := old.lastSuccess[p.query.Name]; ok {
			t.lastSuccess[p.query.Name] = ts
		}
	}
}
