package round

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// Result is what one round of upstream calls found.
type Result struct {
	// Up is true when UTMStack answered and authentication held.
	Up bool
	// Queries are the queries' results, in the order of their plans.
	Queries []QueryResult
	// Incidents are the incident counts; nil without incidents: true.
	Incidents *Incidents
	// Calls is how many upstream calls the round made, those its deadline
	// cut included (a coverage read beside it is not counted); 0 for a
	// scrape that gave up waiting for a round.
	Calls int
	// Sightings are what the periodic calls had found when it ended.
	Sightings
	// Coverage is UTMStack's log sources and agents as the last read that
	// ended before the round did found them; nil with coverage off, or
	// before a first read has ended.
	Coverage *CoverageResult

	plans    []Plan    // of the configuration it ran under
	finished time.Time // when its calls ended: min_interval and last successes count from it
}

// Plans are the plans of the queries it answers, as Queries: a reload may
// have brought others since.
func (r *Result) Plans() []Plan { return r.plans }

// QueryResult is one query's outcome: its data only when every call of it
// succeeded.
type QueryResult struct {
	// Name is the query's name.
	Name string
	// OK is true when every call of the query succeeded.
	OK bool
	// Err is the first failure of its calls, nil when OK.
	Err error
	// Duration is the time from the first of its calls to the end of the
	// last.
	Duration time.Duration
	// Total is every alert the query matches.
	Total int64
	// Series are the label values of each breakdown, by breakdown name.
	Series map[string][]LabelCount
	// Ages are the times of the oldest or newest alert, as the query's ages.
	Ages []Age
	// Empty lists the breakdowns whose field had no value on any of the
	// query's alerts while it had some.
	Empty []string
}

// Age is the time of a query's oldest or newest alert.
type Age struct {
	// At is the alert's @timestamp.
	At time.Time
	// Found is false when no alert matches the query.
	Found bool
}

// Incidents counts UTMStack's incidents by status.
type Incidents struct {
	// Err is why the counts could not be read; any failure fails them all.
	Err error
	// Counts are as utmstack.IncidentStatuses.
	Counts []int64
}

// Forbidden tells incident counts UTMStack refused with 403: the user may
// not read incidents.
func (in *Incidents) Forbidden() bool { return isForbidden(in.Err) }

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

// ask makes the calls of one round of g under ctx, at most g.concurrency
// in flight, with extra (a periodic kind's calls) last, and returns what
// the round found and the outcomes of extra. When ctx is cut the calls in
// flight are cancelled and the queries they belong to fail; the others
// keep their data.
func (g *generation) ask(ctx context.Context, now func() time.Time, extra []job) (*Result, []outcome) {
	c := g.client
	var jobs []job
	queryJobs := make([][2]int, len(g.plans)) // [first, end) in jobs
	for i, plan := range g.plans {
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
	if g.incidents {
		for _, status := range utmstack.IncidentStatuses {
			jobs = append(jobs, func(ctx context.Context, o *outcome) { o.count, o.err = c.CountIncidents(ctx, status) })
		}
	}
	extraFrom := len(jobs)
	jobs = append(jobs, extra...)

	outcomes := run(ctx, jobs, g.concurrency, now)

	result := &Result{plans: g.plans, finished: now(), Queries: make([]QueryResult, len(g.plans)), Calls: len(jobs)}
	var health roundHealth
	for i, plan := range g.plans {
		os := outcomes[queryJobs[i][0]:queryJobs[i][1]]
		for _, o := range os {
			health.observe(o.err)
		}
		result.Queries[i] = queryOutcome(plan, os)
	}
	if g.incidents {
		result.Incidents = incidentOutcome(outcomes[incidentsFrom:extraFrom])
		for _, o := range outcomes[incidentsFrom:extraFrom] {
			health.observe(o.err)
		}
	}
	result.Up = health.answered && !health.authFailed
	return result, outcomes[extraFrom:]
}

// run makes the calls: concurrency workers take them in order, as many in
// flight as allowed and no goroutine per call. Once ctx is done the calls
// not yet made fail at once.
func run(ctx context.Context, jobs []job, concurrency int, now func() time.Time) []outcome {
	outcomes := make([]outcome, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(concurrency, 1), len(jobs)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(jobs) {
					return
				}
				o := &outcomes[k]
				o.start = now()
				if ctx.Err() != nil {
					o.err = context.Cause(ctx)
				} else {
					jobs[k](ctx, o)
				}
				o.end = now()
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
func queryOutcome(plan Plan, os []outcome) QueryResult {
	qr := QueryResult{Name: plan.query.Name, OK: true}
	var first, last time.Time
	for _, o := range os {
		if first.IsZero() || o.start.Before(first) {
			first = o.start
		}
		if o.end.After(last) {
			last = o.end
		}
		if o.err != nil && qr.OK {
			qr.OK, qr.Err = false, o.err
		}
	}
	qr.Duration = last.Sub(first)
	if !qr.OK {
		return qr
	}
	values, ages := os[:len(plan.calls)], os[len(plan.calls):]
	qr.Total = total(values[0].buckets)
	qr.Series = make(map[string][]LabelCount, len(plan.breakdowns))
	for _, b := range plan.breakdowns {
		buckets := values[b.call].buckets
		switch b.Name {
		case config.BySeverity:
			qr.Series[b.Name] = enumBreakdown(buckets, severityValues, severityLabel, qr.Total)
		case config.ByStatus:
			qr.Series[b.Name] = enumBreakdown(buckets, statusValues, statusLabel, qr.Total)
		case config.ByCountry:
			qr.Series[b.Name] = countryBreakdown(buckets, b.Top, qr.Total)
		default:
			qr.Series[b.Name] = fieldBreakdown(buckets, b.Top, qr.Total)
		}
		if len(buckets) == 0 && qr.Total > 0 {
			qr.Empty = append(qr.Empty, b.Name)
		}
	}
	for _, o := range ages {
		qr.Ages = append(qr.Ages, Age{At: o.at, Found: o.found})
	}
	return qr
}

// incidentOutcome counts the incidents, one call per status; any failure
// fails them all.
func incidentOutcome(os []outcome) *Incidents {
	r := &Incidents{Counts: make([]int64, len(os))}
	for i, o := range os {
		if o.err != nil {
			r.Err = o.err
			return r
		}
		r.Counts[i] = o.count
	}
	return r
}
