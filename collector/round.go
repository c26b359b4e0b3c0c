package collector

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// roundResult is what one round of upstream calls found.
type roundResult struct {
	finished  time.Time
	up        bool // UTMStack answered and authentication held
	queries   []queryResult
	incidents *incidentResult // nil without incidents: true
	sightings                 // the index totals and version as this round knew them
}

// queryResult is one query's outcome: its data only when every call of it
// succeeded.
type queryResult struct {
	name     string
	ok       bool
	err      error
	duration time.Duration
	total    int64
	series   map[string][]labelCount // breakdown name -> exported values
	ages     []ageResult             // as the plan's ages
	// empty lists the breakdowns whose field had no value on any of the
	// query's alerts while it had some.
	empty []string
}

type ageResult struct {
	at    time.Time
	found bool
}

// incidentResult counts UTMStack's incidents by status.
type incidentResult struct {
	err    error
	counts []int64 // as utmstack.IncidentStatuses
}

// outcome is what one upstream call returned.
type outcome struct {
	buckets    map[string]int64
	at         time.Time
	found      bool
	count      int64
	version    string
	err        error
	start, end time.Time
}

// job is one upstream call of a round, writing its outcome.
type job func(ctx context.Context, o *outcome)

// runRound makes every call of the round, at most t.concurrency in flight,
// under ctx's deadline. When the deadline passes the calls in flight are
// cancelled and the queries they belong to fail; the others keep their data.
func (t *target) runRound(ctx context.Context) *roundResult {
	c := t.client
	var jobs []job
	queryJobs := make([][2]int, len(t.plans)) // [first, end) in jobs
	for i, plan := range t.plans {
		queryJobs[i][0] = len(jobs)
		for _, req := range plan.calls {
			jobs = append(jobs, func(ctx context.Context, o *outcome) { o.buckets, o.err = c.ValuesWithCount(ctx, req) })
		}
		for _, age := range plan.ages {
			jobs = append(jobs, func(ctx context.Context, o *outcome) {
				o.at, o.found, o.err = c.AlertTime(ctx, plan.query.IndexPattern, plan.filters, age.oldest)
			})
		}
		queryJobs[i][1] = len(jobs)
	}
	incidentsFrom := len(jobs)
	if t.incidents {
		for _, status := range utmstack.IncidentStatuses {
			jobs = append(jobs, func(ctx context.Context, o *outcome) { o.count, o.err = c.CountIncidents(ctx, status) })
		}
	}
	refresh, indexReqs := t.memory.periodic.due(t.now(), c.Unauthorized())
	refreshFrom := len(jobs)
	switch refresh {
	case refreshIndex:
		for _, req := range indexReqs {
			jobs = append(jobs, func(ctx context.Context, o *outcome) { o.buckets, o.err = c.ValuesWithCount(ctx, req) })
		}
	case refreshVersion:
		jobs = append(jobs, func(ctx context.Context, o *outcome) { o.version, o.err = c.Version(ctx) })
	}

	outcomes := t.run(ctx, jobs)

	result := &roundResult{finished: t.now(), queries: make([]queryResult, len(t.plans))}
	var health roundHealth
	for i, plan := range t.plans {
		os := outcomes[queryJobs[i][0]:queryJobs[i][1]]
		for _, o := range os {
			health.observe(o.err)
		}
		result.queries[i] = queryOutcome(plan, os)
	}
	if t.incidents {
		result.incidents = incidentOutcome(outcomes[incidentsFrom:refreshFrom])
		for _, o := range outcomes[incidentsFrom:refreshFrom] {
			health.observe(o.err)
		}
	}
	result.sightings = t.memory.periodic.record(refresh, indexReqs, outcomes[refreshFrom:], result.finished, t.logger)
	result.up = health.answered && !health.authFailed
	return result
}

// run makes the calls: concurrency workers take them in order, as many in
// flight as allowed and no goroutine per call. Once ctx is done the calls
// not yet made fail at once.
func (t *target) run(ctx context.Context, jobs []job) []outcome {
	outcomes := make([]outcome, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(t.concurrency, 1), len(jobs)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(jobs) {
					return
				}
				o := &outcomes[k]
				o.start = t.now()
				if ctx.Err() != nil {
					o.err = context.Cause(ctx)
				} else {
					jobs[k](ctx, o)
				}
				o.end = t.now()
			}
		})
	}
	wg.Wait()
	return outcomes
}

// roundHealth judges utmstack_up from the authenticated calls: UTMStack
// answered at least one, and refused none for its credentials.
type roundHealth struct{ answered, authFailed bool }

func (h *roundHealth) observe(err error) {
	var authErr *utmstack.AuthError
	var callErr *utmstack.Error
	switch {
	case err == nil:
		h.answered = true
	case errors.As(err, &authErr):
		h.authFailed = true
	case errors.As(err, &callErr) && callErr.Answered():
		h.answered = true
	}
}

// queryOutcome turns one query's outcomes (its values calls, then its ages)
// into its result.
func queryOutcome(plan queryPlan, os []outcome) queryResult {
	qr := queryResult{name: plan.query.Name, ok: true}
	var first, last time.Time
	for _, o := range os {
		if first.IsZero() || o.start.Before(first) {
			first = o.start
		}
		if o.end.After(last) {
			last = o.end
		}
		if o.err != nil && qr.ok {
			qr.ok, qr.err = false, o.err
		}
	}
	qr.duration = last.Sub(first)
	if !qr.ok {
		return qr
	}
	values, ages := os[:len(plan.calls)], os[len(plan.calls):]
	qr.total = total(values[0].buckets)
	qr.series = make(map[string][]labelCount, len(plan.breakdowns))
	for _, b := range plan.breakdowns {
		buckets := values[b.call].buckets
		switch b.Name {
		case config.BySeverity:
			qr.series[b.Name] = enumBreakdown(buckets, severityValues, severityLabel, qr.total)
		case config.ByStatus:
			qr.series[b.Name] = enumBreakdown(buckets, statusValues, statusLabel, qr.total)
		case config.ByCountry:
			qr.series[b.Name] = countryBreakdown(buckets, b.Top, qr.total)
		default:
			qr.series[b.Name] = fieldBreakdown(buckets, b.Top, qr.total)
		}
		if len(buckets) == 0 && qr.total > 0 {
			qr.empty = append(qr.empty, b.Name)
		}
	}
	for _, o := range ages {
		qr.ages = append(qr.ages, ageResult{at: o.at, found: o.found})
	}
	return qr
}

// incidentOutcome counts the incidents, one call per status; any failure
// fails them all.
func incidentOutcome(os []outcome) *incidentResult {
	r := &incidentResult{counts: make([]int64, len(os))}
	for i, o := range os {
		if o.err != nil {
			r.err = o.err
			return r
		}
		r.counts[i] = o.count
	}
	return r
}
