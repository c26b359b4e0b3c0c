package collector

import (
	"context"
	"errors"
	"fmt"
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
	seq         uint64 // of the last round started
	inflight    *pendingRound
	last        *roundResult
	lastSeq     uint64               // of last
	successor   *target              // the target a reload replaced this one with
	lastSuccess map[string]time.Time // query name -> end of its last good round
	lastErr     map[string]string    // query name -> last error logged, to log repeats at debug

	onShare func() // tests: called when a scrape joins a round already in flight
}

type pendingRound struct {
	seq       uint64 // rounds of one target in the order they started
	done      chan struct{}
	result    *roundResult
	successes map[string]time.Time // as the round ended
	families  sharedFamilies       // gathered once for every scrape that waited

	// Guarded by target.mu until done is closed.
	deadline time.Time   // when the calls are cut: the latest deadline of the scrapes waiting, at most limit
	limit    time.Time   // the round's start plus utmstack.timeout
	cut      *time.Timer // cancels the round's context at deadline
}

// errRoundDeadline is why a round's calls are cut: every scrape waiting for
// it has reached its deadline (or the round, utmstack.timeout).
var errRoundDeadline = fmt.Errorf("scrape deadline: %w", context.DeadlineExceeded)

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

// scrape returns the result of the round this scrape belongs to.
//
// A round runs until the latest deadline among the scrapes waiting for it
// (never past utmstack.timeout), so a scrape with a short timeout cannot cut
// the round short for one that joined with a longer one. A scrape whose own
// deadline comes first answers then with every query failed; the scrape
// whose deadline is the round's gets what finished in time.
//
// A result reused under min_interval is gathered afresh by each scrape, so
// that the Go and process metrics beside it stay current.
func (t *target) scrape(ctx context.Context) served {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(t.timeout)
	}
	t.mu.Lock()
	if t.minInterval > 0 && t.last != nil && t.now().Sub(t.last.finished) < t.minInterval {
		last := t.last
		successes := t.successesLocked()
		t.mu.Unlock()
		return served{result: last, successes: successes}
	}
	pending := t.inflight
	if pending != nil && !pending.join(deadline) {
		pending = nil // its calls are being cut: this scrape needs a round of its own
	}
	if pending == nil {
		pending = t.startLocked(ctx, deadline)
	} else if t.onShare != nil {
		t.onShare()
	}
	t.mu.Unlock()

	select {
	case <-pending.done:
		return served{result: pending.result, successes: pending.successes, shared: &pending.families}
	case <-ctx.Done():
	}
	t.mu.Lock()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || pending.deadline.After(deadline) {
		defer t.mu.Unlock()
		return served{result: t.timedOut(ctx.Err()), successes: t.successesLocked()}
	}
	t.mu.Unlock()
	// This deadline is the round's: its calls are cut at this very moment,
	// so its result (what finished in time) follows at once.
	<-pending.done
	return served{result: pending.result, successes: pending.successes, shared: &pending.families}
}

// startLocked starts a round that the scrape with this deadline waits for.
// The round does not end when that scrape's client goes away: others may
// join it.
func (t *target) startLocked(scrapeCtx context.Context, deadline time.Time) *pendingRound {
	t.seq++
	p := &pendingRound{seq: t.seq, done: make(chan struct{}), limit: time.Now().Add(t.timeout)}
	p.deadline = deadline
	if p.limit.Before(deadline) {
		p.deadline = p.limit
	}
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(scrapeCtx))
	p.cut = time.AfterFunc(time.Until(p.deadline), func() { cancel(errRoundDeadline) })
	t.inflight = p
	go t.run(ctx, cancel, p)
	return p
}

// join makes a scrape with this deadline wait for the round, moving the
// round's deadline later if need be. It reports false when the round's
// calls are already being cut.
func (p *pendingRound) join(deadline time.Time) bool {
	if !p.cut.Stop() {
		return false
	}
	if deadline.After(p.deadline) {
		p.deadline = deadline
		if p.limit.Before(deadline) {
			p.deadline = p.limit
		}
	}
	p.cut.Reset(time.Until(p.deadline))
	return true
}

// run performs one round and hands its result to the scrapes waiting.
func (t *target) run(ctx context.Context, cancel context.CancelCauseFunc, pending *pendingRound) {
	defer cancel(nil)
	result := runRound(ctx, t.client, t.plans, t.concurrency, t.now)

	t.mu.Lock()
	pending.cut.Stop()
	if t.inflight == pending {
		t.inflight = nil
	}
	t.recordLocked(result)
	for _, q := range result.queries {
		t.logOutcomeLocked(q)
	}
	// A round cut short may end after a later one that replaced it.
	if pending.seq > t.lastSeq {
		t.last, t.lastSeq = result, pending.seq
	}
	pending.result = result
	pending.successes = t.successesLocked()
	successor := t.successor
	t.mu.Unlock()

	// A reload replaced this target while the round ran: its successes
	// belong to the new target too.
	for successor != nil {
		successor = successor.record(result)
	}
	close(pending.done)
}

// recordLocked keeps the end of the round as the last success of each query
// that succeeded in it, unless a later round already did.
func (t *target) recordLocked(result *roundResult) {
	for _, q := range result.queries {
		if q.ok && result.finished.After(t.lastSuccess[q.name]) {
			t.lastSuccess[q.name] = result.finished
		}
	}
}

// record takes in the successes of a round its predecessor ran, for the
// queries it still has, and returns its own successor, if any.
func (t *target) record(result *roundResult) *target {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := &roundResult{finished: result.finished}
	for _, q := range result.queries {
		if t.hasQuery(q.name) {
			kept.queries = append(kept.queries, q)
		}
	}
	t.recordLocked(kept)
	return t.successor
}

func (t *target) hasQuery(name string) bool {
	for _, p := range t.plans {
		if p.query.Name == name {
			return true
		}
	}
	return false
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
	old.successor = t // a round still running on old reports its successes here too
}
