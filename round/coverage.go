package round

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// downFactor is UTMStack's own rule (UtmDataInputStatus.isDown in v10 and
// v11): a source is down when silent for more than 6 x its median gap.
const downFactor = 6

// Bounds of what a read keeps beyond the configuration: data types get
// their own label value up to maxDataTypes (more are summed as "other"),
// agent versions up to TopVersions.
const (
	maxDataTypes = 100
	TopVersions  = 10
)

// MaxDataTypes is the most data type label values a read exports, other
// included.
const MaxDataTypes = maxDataTypes + 1

// Data source states, the values of utmstack_data_sources' state label.
var SourceStates = []string{"up", "down", "unknown"}

// AgentStatuses are the values of utmstack_agents' status label: UTMStack's
// AgentStatusEnum, lowercase.
var AgentStatuses = []string{"online", "offline", "unknown"}

// CoverageResult is what UTMStack itself knows of what it sees: when each
// log source last sent a log, and its agents. A round starts a read at
// most every coverage interval, never more than one, and the read runs
// beside the rounds: each round is served the last read that ended.
type CoverageResult struct {
	// DataSources is nil unless coverage.data_sources is on.
	DataSources *DataSources
	// Agents is nil unless coverage.agents is on.
	Agents *Agents
}

// DataSources is UTMStack's list of log sources.
type DataSources struct {
	// Err is why the last read failed; then the rest is empty.
	Err error
	// Sources are at most max_data_sources of them, the most overdue first,
	// label-safe and without two of the same type and name.
	Sources []SourceSeries
	// States count every source by data type and state: each data type
	// seen has every state, 0 when none is in it.
	States []StateCount
}

// SourceSeries is one data source as exported.
type SourceSeries struct {
	DataType, Source string
	// LastSeen is zero when UTMStack has no time for it.
	LastSeen time.Time
	// Median is UTMStack's median gap between its logs, when HasMedian.
	Median    time.Duration
	HasMedian bool
}

// StateCount is how many sources of a data type are in a state.
type StateCount struct {
	DataType, State string
	Count           int
}

// Agents is UTMStack's agents, counted.
type Agents struct {
	// Err is why the last read failed; then the rest is empty.
	Err error
	// Statuses are as AgentStatuses.
	Statuses []int
	// Versions are the TopVersions most common versions and other.
	Versions []LabelCount
}

// Forbidden tells a read UTMStack refused with 403: the user may not read it.
func (d *DataSources) Forbidden() bool { return isForbidden(d.Err) }

// Forbidden tells a read UTMStack refused with 403: the user may not read it.
func (a *Agents) Forbidden() bool { return isForbidden(a.Err) }

// coverageMemory is what an instance remembers of coverage: the settings
// its last read was made under, the read (nil before the first ended),
// when each kind was last read, the read in flight, and when the next is
// due. It is part of the instance's memory, so it survives the reloads
// that keep the client.
type coverageMemory struct {
	settings config.Coverage
	next     time.Time
	last     *CoverageResult
	readAt   [2]time.Time // of the data sources and the agents in last
	cuts     int          // reads cut in a row
	running  *coverageRead
}

// After a read cut short (UTMStack did not answer within utmstack.timeout)
// the next is due after firstRetryAfterCut, doubling with each cut in a
// row up to the interval; what was read before is served meanwhile, for up
// to keepCutIntervals intervals, and then the cut is told as a failure.
const (
	firstRetryAfterCut = 15 * time.Second
	keepCutIntervals   = 3
)

// coverageClient is what a coverage read asks; *utmstack.Client has it.
type coverageClient interface {
	DataSources(ctx context.Context, lim utmstack.PageLimits) ([]utmstack.DataSource, int, error)
	Agents(ctx context.Context, lim utmstack.PageLimits) ([]utmstack.Agent, int, error)
}

// coverageRead is one read of coverage: its jobs (data sources, then
// agents), what they found, and when it has ended.
type coverageRead struct {
	settings config.Coverage
	jobs     []job
	sources  []utmstack.DataSource
	agents   []utmstack.Agent
	cancel   context.CancelFunc
	done     chan struct{} // closed once it has ended and been recorded
}

// startCoverage starts a coverage read of g when one is due and none is
// in flight, and returns the read in flight (nil: none). The read runs
// beside the round that asked for it, one call at a time, bounded by
// utmstack.timeout and never by a scrape's deadline: no scrape waits for
// it, and no scrape's budget cuts it. The caller holds i.mu.
func (i *Instance) startCoverage(parent context.Context, g *generation) *coverageRead {
	if r := i.mem.coverage.running; r != nil || i.gen != g {
		return r
	}
	r := i.mem.planCoverage(g, i.env.Now())
	if r == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), g.timeout)
	r.cancel = cancel
	go func() {
		defer close(r.done)
		defer cancel()
		os := run(ctx, r.jobs, 1, i.env.Now)
		i.mu.Lock()
		defer i.mu.Unlock()
		i.mem.recordCoverage(r, os, ctx.Err() != nil, i.env.Now(), i.env.Logger)
	}()
	return r
}

// Coverage is the last coverage read that ended, once the read in flight
// has ended or ctx has; it starts one first when one is due. nil with
// coverage off, or when no read has ended yet. A scrape never waits for
// a read: this is for a caller that wants the read, such as a check.
func (i *Instance) Coverage(ctx context.Context) *CoverageResult {
	i.mu.Lock()
	g := i.gen
	r := i.startCoverage(ctx, g)
	i.mu.Unlock()
	if r != nil {
		select {
		case <-r.done:
		case <-ctx.Done():
		}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.mem.lastCoverage(g)
}

// planCoverage claims a coverage read of g when one is due, and holds it
// back until the next is due; nil: none. Settings other than the last
// read's stop the read in flight and make one due at once.
func (m *memory) planCoverage(g *generation, now time.Time) *coverageRead {
	c, cm := g.coverage, &m.coverage
	if c != cm.settings {
		cm.stop()
		*cm = coverageMemory{settings: c}
	}
	client, ok := g.client.(coverageClient)
	if !ok || !c.DataSources && !c.Agents || cm.running != nil || now.Before(cm.next) {
		return nil
	}
	cm.next = now.Add(c.Interval)
	r := &coverageRead{settings: c, done: make(chan struct{})}
	if c.DataSources {
		r.jobs = append(r.jobs, func(ctx context.Context, o *outcome) {
			r.sources, _, o.err = client.DataSources(ctx, utmstack.DefaultPageLimits)
		})
	}
	if c.Agents {
		r.jobs = append(r.jobs, func(ctx context.Context, o *outcome) {
			r.agents, _, o.err = client.Agents(ctx, utmstack.DefaultPageLimits)
		})
	}
	cm.running = r
	return r
}

// stop cancels the read in flight, whose result no one will take.
func (cm *coverageMemory) stop() {
	if cm.running != nil {
		cm.running.cancel()
		cm.running = nil
	}
}

// recordCoverage takes in what a read found, unless a reload has replaced
// it since, and tells what went wrong. A kind the read's own deadline cut
// (UTMStack did not answer in time: no answer at all) keeps what was read
// before, for a while, and the next read comes sooner than the interval.
func (m *memory) recordCoverage(r *coverageRead, os []outcome, cut bool, now time.Time, logger *slog.Logger) {
	cm := &m.coverage
	if cm.running != r {
		return
	}
	cm.running = nil
	var prev CoverageResult
	if cm.last != nil {
		prev = *cm.last
	}
	keep := keepCutIntervals * r.settings.Interval
	var next CoverageResult
	anyCut := false
	k := 0
	if r.settings.DataSources {
		err := os[k].err
		next.DataSources = sourceCoverage(r.sources, err, r.settings.MaxDataSources, now)
		if cut && err != nil {
			anyCut = true
			if prev.DataSources != nil && now.Sub(cm.readAt[0]) <= keep {
				next.DataSources = prev.DataSources
			}
		} else {
			cm.readAt[0] = now
		}
		k++
	}
	if r.settings.Agents {
		err := os[k].err
		next.Agents = agentCoverage(r.agents, err)
		if cut && err != nil {
			anyCut = true
			if prev.Agents != nil && now.Sub(cm.readAt[1]) <= keep {
				next.Agents = prev.Agents
			}
		} else {
			cm.readAt[1] = now
		}
	}
	if !anyCut {
		cm.cuts = 0
	} else {
		cm.cuts++
		retry := min(firstRetryAfterCut<<min(cm.cuts-1, 16), r.settings.Interval)
		cm.next = now.Add(retry)
		logger.Debug("the coverage read was cut by utmstack.timeout; serving the last one meanwhile", "retry_in", retry)
	}
	cm.last = &next
	m.tellCoverage(logger, next)
}

// lastCoverage is the last read that ended, for a round; nil with coverage
// off, or before a first read has ended.
func (m *memory) lastCoverage(g *generation) *CoverageResult {
	cm := &m.coverage
	if c := g.coverage; c != cm.settings || !c.DataSources && !c.Agents || cm.last == nil {
		return nil
	}
	last := *cm.last
	return &last
}

// sourceCoverage judges each source by UTMStack's rule at now, counts them
// by data type and state, and keeps the series of the max most overdue.
func sourceCoverage(rows []utmstack.DataSource, err error, maxSeries int, now time.Time) *DataSources {
	if err != nil {
		return &DataSources{Err: err}
	}
	type judged struct {
		SourceSeries
		state   string
		overdue float64 // silence in medians; NaN when it cannot be judged
		silence int64
	}
	all := make([]judged, len(rows))
	perType := map[string]int{}
	for i, d := range rows {
		j := judged{SourceSeries: SourceSeries{DataType: labelValue(d.DataType), Source: labelValue(d.Source),
			LastSeen: d.LastSeen, Median: d.Median, HasMedian: d.HasMedian}, state: "unknown", overdue: math.NaN()}
		if !d.LastSeen.IsZero() {
			j.silence = now.Unix() - d.LastSeen.Unix()
			if d.HasMedian {
				median := int64(d.Median / time.Second)
				j.state = "up"
				if j.silence > downFactor*median {
					j.state = "down"
				}
				switch {
				case median > 0:
					j.overdue = float64(j.silence) / float64(median)
				case j.silence > 0:
					j.overdue = math.Inf(1)
				default:
					j.overdue = 0
				}
			}
		} else {
			j.silence = math.MaxInt64
		}
		all[i] = j
		perType[j.DataType]++
	}

	// Data types, the most sources first, beyond maxDataTypes as "other".
	types := make([]LabelCount, 0, len(perType))
	for name, n := range perType {
		types = append(types, LabelCount{name, int64(n)})
	}
	kept, _ := keepTop(types, maxDataTypes)
	typeLabel := make(map[string]string, len(kept))
	for _, tc := range kept {
		typeLabel[tc.Label] = tc.Label
	}
	counts := map[string]map[string]int{}
	for _, j := range all {
		label, ok := typeLabel[j.DataType]
		if !ok {
			label = labelOther
		}
		if counts[label] == nil {
			counts[label] = map[string]int{}
		}
		counts[label][j.state]++
	}
	out := &DataSources{}
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		for _, state := range SourceStates {
			out.States = append(out.States, StateCount{name, state, counts[name][state]})
		}
	}

	// The most overdue first: judged sources by how many medians they have
	// been silent, then those UTMStack cannot judge by silence.
	slices.SortFunc(all, func(a, b judged) int {
		an, bn := math.IsNaN(a.overdue), math.IsNaN(b.overdue)
		switch {
		case an != bn:
			if an {
				return 1
			}
			return -1
		case !an && a.overdue != b.overdue:
			return cmp.Compare(b.overdue, a.overdue)
		case a.silence != b.silence:
			return cmp.Compare(b.silence, a.silence)
		case a.DataType != b.DataType:
			return strings.Compare(a.DataType, b.DataType)
		}
		return strings.Compare(a.Source, b.Source)
	})
	seen := map[[2]string]bool{}
	for _, j := range all {
		if len(out.Sources) >= maxSeries {
			break
		}
		key := [2]string{j.DataType, j.Source}
		if seen[key] {
			continue // two that became one label value: the more overdue is kept
		}
		seen[key] = true
		out.Sources = append(out.Sources, j.SourceSeries)
	}
	return out
}

// agentCoverage counts the agents by status and version.
func agentCoverage(agents []utmstack.Agent, err error) *Agents {
	if err != nil {
		return &Agents{Err: err}
	}
	out := &Agents{Statuses: make([]int, len(AgentStatuses))}
	versions := map[string]int64{}
	for _, a := range agents {
		i := slices.Index(AgentStatuses, strings.ToLower(a.Status))
		if i < 0 {
			i = slices.Index(AgentStatuses, labelUnknown)
		}
		out.Statuses[i]++
		versions[a.Version]++
	}
	out.Versions = fieldBreakdown(versions, TopVersions, int64(len(agents)))
	return out
}

// tellCoverage logs a coverage read that fails once, when it starts
// failing, with what to do; a 403 says which role to give.
func (m *memory) tellCoverage(logger *slog.Logger, c CoverageResult) {
	if d := c.DataSources; d != nil {
		m.coverageProblem(logger, "data_sources", "/api/utm-data-input-statuses", "utmstack_data_source_* and utmstack_data_sources", d.Err)
	}
	if a := c.Agents; a != nil {
		m.coverageProblem(logger, "agents", "/api/agent-manager/agents", "utmstack_agents and utmstack_agents_by_version", a.Err)
	}
}

func (m *memory) coverageProblem(logger *slog.Logger, kind, path, metrics string, err error) {
	forbidden := isForbidden(err)
	m.notice(logger, problemKey{"", "coverage forbidden " + kind}, forbidden,
		fmt.Sprintf("the UTMStack user may not read %s (403 on %s): %s are left out and utmstack_coverage_up{kind=%q} is 0; "+
			"give the user (or the API key's owner) ROLE_USER, or set coverage.%s: false", kindWords(kind), path, metrics, kind, kind),
		"err", fmt.Sprint(err))
	m.notice(logger, problemKey{"", "coverage failing " + kind}, err != nil && !forbidden,
		fmt.Sprintf("cannot read UTMStack's %s (%s): %s are left out and utmstack_coverage_up{kind=%q} is 0 until a read succeeds", kindWords(kind), path, metrics, kind),
		"err", fmt.Sprint(err))
}

func kindWords(kind string) string { return strings.ReplaceAll(kind, "_", " ") }
