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
	finished time.Time
	up       bool // UTMStack answered and authentication held
	queries  []queryResult
}

// queryResult is one query's outcome: its data only when every call of it
// succeeded.
type queryResult struct {
	name     string
	ok       bool
	err      error
	duration time.Duration
	total    int64
	series   map[string][]labelCount // breakdown kind -> exported values
}

// runRound makes every call of every plan, at most `concurrency` in flight,
// under ctx's deadline. When the deadline passes the calls in flight are
// cancelled and the queries they belong to fail; the others keep their data.
func runRound(ctx context.Context, client *utmstack.Client, plans []queryPlan, concurrency int, now func() time.Time) *roundResult {
	type outcome struct {
		buckets map[string]int64
		err     error
		start   time.Time
		end     time.Time
	}
	outcomes := make([][]outcome, len(plans))
	type call struct{ plan, index int }
	var calls []call
	for i, plan := range plans {
		outcomes[i] = make([]outcome, len(plan.calls))
		for j := range plan.calls {
			calls = append(calls, call{i, j})
		}
	}
	// concurrency workers take the calls in order: as many in flight as
	// allowed, and no goroutine per call. Once ctx is done the calls not yet
	// made fail at once.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(concurrency, 1), len(calls)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(calls) {
					return
				}
				o := &outcomes[calls[k].plan][calls[k].index]
				if ctx.Err() != nil {
					o.err = context.Cause(ctx)
					o.start, o.end = now(), now()
					continue
				}
				o.start = now()
				o.buckets, o.err = client.ValuesWithCount(ctx, plans[calls[k].plan].calls[calls[k].index])
				o.end = now()
			}
		})
	}
	wg.Wait()

	result := &roundResult{finished: now(), queries: make([]queryResult, len(plans))}
	answered, authFailed := false, false
	for i, plan := range plans {
		qr := queryResult{name: plan.query.Name, ok: true}
		var first, last time.Time
		buckets := make(map[string]map[string]int64, len(plan.calls))
		for j, o := range outcomes[i] {
			if first.IsZero() || o.start.Before(first) {
				first = o.start
			}
			if o.end.After(last) {
				last = o.end
			}
			if o.err != nil {
				if qr.ok {
					qr.ok, qr.err = false, o.err
				}
				var authErr *utmstack.AuthError
				var callErr *utmstack.Error
				switch {
				case errors.As(o.err, &authErr):
					authFailed = true
				case errors.As(o.err, &callErr) && callErr.Answered():
					answered = true
				}
				continue
			}
			answered = true
			buckets[plan.kinds[j]] = o.buckets
		}
		qr.duration = last.Sub(first)
		if qr.ok {
			qr.total, qr.series = breakdowns(plan, buckets)
		}
		result.queries[i] = qr
	}
	result.up = answered && !authFailed
	return result
}

// breakdowns turns one query's buckets into its exported series.
func breakdowns(plan queryPlan, buckets map[string]map[string]int64) (int64, map[string][]labelCount) {
	sum := total(buckets[config.ByStatus])
	series := make(map[string][]labelCount, 3)
	if plan.wants(config.BySeverity) {
		series[config.BySeverity] = enumBreakdown(buckets[config.BySeverity], severityValues, severityLabel, sum)
	}
	if plan.wants(config.ByStatus) {
		series[config.ByStatus] = enumBreakdown(buckets[config.ByStatus], statusValues, statusLabel, sum)
	}
	if plan.wants(config.ByCountry) {
		series[config.ByCountry] = countryBreakdown(buckets[config.ByCountry], plan.query.TopCountries, sum)
	}
	return sum, series
}
