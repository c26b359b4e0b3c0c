package round

import (
	"context"
	"time"
)

// inFlight is one round of upstream calls, shared by the scrapes waiting
// for it.
type inFlight struct {
	gen *generation
	ctx *cutContext
	// deadline is when the round is cut: the latest deadline of the
	// scrapes that joined it, and never after its cap, utmstack.timeout
	// after it started. Guarded by the instance's mutex.
	deadline, cap time.Time
	timer         *time.Timer // cuts it at deadline
	done          chan struct{}
	result        *Result // set before done is closed
}

// Scrape returns what this scrape is served by ctx's deadline: with
// min_interval a recent uncut round, else the round in flight or a new one,
// which runs to the latest deadline of the scrapes that joined it, at most
// the timeout. A scrape whose deadline passes while the round runs on gets
// every query failed.
func (i *Instance) Scrape(ctx context.Context) *Result {
	i.mu.Lock()
	g := i.gen
	if g.minInterval > 0 && i.last != nil && i.env.Now().Sub(i.last.finished) < g.minInterval {
		defer i.mu.Unlock()
		return i.last
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(g.timeout)
	}
	r := i.running
	if r == nil || r.ctx.Err() != nil || !time.Now().Before(r.deadline) {
		r = i.start(ctx, g, deadline)
	} else {
		r.extend(deadline) // expire sees it when the timer fires
	}
	i.mu.Unlock()

	select {
	case <-r.done:
		return r.result
	case <-ctx.Done():
	}
	i.mu.Lock()
	cutNow := !r.deadline.After(deadline) // no scrape joined with a later deadline
	i.mu.Unlock()
	if cutNow {
		<-r.done // it ends as its calls are cancelled; those that finished keep their data
		return r.result
	}
	return i.timedOut(g, context.Cause(ctx))
}

// start begins a round of g under deadline. It outlives the scrape that
// asked for it: others may wait for it. The caller holds i.mu.
func (i *Instance) start(scrapeCtx context.Context, g *generation, deadline time.Time) *inFlight {
	now := time.Now()
	r := &inFlight{gen: g, cap: now.Add(g.timeout), done: make(chan struct{})}
	r.extend(deadline)
	r.ctx = newCutContext(scrapeCtx, r.cap)
	r.timer = time.AfterFunc(r.deadline.Sub(now), func() { i.expire(r) })
	i.running = r
	go func() {
		r.result = i.round(r)
		r.timer.Stop()
		close(r.done)
		r.ctx.cut() // releases it
	}()
	return r
}

// extend moves r's deadline to d when later, never past its cap.
func (r *inFlight) extend(d time.Time) {
	if d.After(r.cap) {
		d = r.cap
	}
	if d.After(r.deadline) {
		r.deadline = d
	}
}

// expire cuts r once its deadline has come: a scrape that joined it may
// have moved the deadline since the timer was set.
func (i *Instance) expire(r *inFlight) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if wait := time.Until(r.deadline); wait > 0 {
		r.timer.Reset(wait)
		return
	}
	r.ctx.cut()
}

// round makes r's calls and records what they found. A round whose
// configuration a reload replaced records only its successes.
func (i *Instance) round(r *inFlight) *Result {
	g := r.gen
	kind, extra := -1, []job(nil)
	i.mu.Lock()
	if i.gen == g {
		kind, extra = i.mem.due(g, i.env.Now(), g.client.Unauthorized())
		// Beside the round, not in it: the round ends with its counts.
		i.startCoverage(r.ctx, g)
	}
	i.mu.Unlock()

	result, periodicOutcomes := g.ask(r.ctx, i.env.Now, extra)

	i.mu.Lock()
	defer i.mu.Unlock()
	i.mem.recordSuccesses(result)
	result.Coverage = i.mem.lastCoverage(g)
	if i.gen != g {
		result.Sightings = i.mem.seen(g)
		return result
	}
	if kind >= 0 {
		i.mem.record(kind, g, periodicOutcomes, result.finished, i.env.Logger)
	}
	result.Sightings = i.mem.seen(g)
	i.mem.tellProblems(i.env.Logger, g, result)
	if i.running == r {
		i.running = nil
	}
	// A cut round is never served again. Without min_interval no scrape is
	// served an old round: a thousand targets need not each hold their last.
	if g.minInterval > 0 && r.ctx.Err() == nil && (i.last == nil || !result.finished.Before(i.last.finished)) {
		i.last = result
	}
	return result
}

// timedOut is the answer of a scrape whose deadline passed while it waited:
// every query and the incident counts failed, the sightings as they stand.
func (i *Instance) timedOut(g *generation, err error) *Result {
	r := &Result{plans: g.plans, Queries: make([]QueryResult, len(g.plans))}
	for k, p := range g.plans {
		r.Queries[k] = QueryResult{Name: p.query.Name, Err: err}
	}
	if g.incidents {
		r.Incidents = &Incidents{Err: err}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	r.finished, r.Sightings, r.Coverage = i.env.Now(), i.mem.seen(g), i.mem.lastCoverage(g)
	return r
}

// cutContext is a round's context. Unlike a context with a deadline, the
// moment it is cut can move: scrapes that join the round push it back, up
// to its cap, which Deadline reports. Once cut it fails with
// context.DeadlineExceeded, as a deadline would, in the round's calls and
// in the contexts they derive from it.
type cutContext struct {
	context.Context                 // the scrape's that started the round, for its values only
	inner           context.Context // done once cut
	cut             context.CancelFunc
	cap             time.Time
}

func newCutContext(scrapeCtx context.Context, cap time.Time) *cutContext {
	inner, cut := context.WithCancel(context.Background())
	return &cutContext{Context: context.WithoutCancel(scrapeCtx), inner: inner, cut: cut, cap: cap}
}

func (c *cutContext) Deadline() (time.Time, bool) { return c.cap, true }
func (c *cutContext) Done() <-chan struct{}       { return c.inner.Done() }

func (c *cutContext) Err() error {
	if c.inner.Err() != nil {
		return context.DeadlineExceeded
	}
	return nil
}

// AfterFunc lets the contexts derived from c follow it without a goroutine
// each (see context.AfterFunc).
func (c *cutContext) AfterFunc(f func()) (stop func() bool) { return context.AfterFunc(c.inner, f) }
