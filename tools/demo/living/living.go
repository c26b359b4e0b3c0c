package living

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// Options shape a Simulation. Zero values take the defaults
// in parentheses.
type Options struct {
	// History is the number of alerts already there at the start, spread
	// over the five days before it as Alerts spreads them (2000).
	History int
	// Seed makes a run repeatable: the same seed and the same Step times
	// give the same alerts.
	Seed int64
	// Every is the mean time between two new alerts outside bursts (1m).
	Every time.Duration
	// HighEvery is the mean time between two high-severity alerts (15m).
	HighEvery time.Duration
	// BurstEvery is the mean time between two bursts (30m): BurstSize
	// alerts of one rule from one adversary within a minute, like a scan.
	BurstEvery time.Duration
	BurstSize  int // (20)
	// EchoShare is the share of new alerts that are echoes of a recent
	// alert (parentId set), which the built-in queries leave out (0.15).
	EchoShare float64
	// Retention is how long alerts are kept (5 days, the span of the
	// history); older ones are dropped, so a long run stays bounded.
	Retention time.Duration
	// Max bounds the number of alerts kept, the oldest dropped first (20000).
	Max int
	// Incidents is the number of incidents at the start, as Incidents
	// makes them (History/40); IncidentEvery the mean time between two new
	// ones (1h). Analysts take open incidents into review and complete them.
	Incidents     int
	IncidentEvery time.Duration
	// Scale is how many times faster than real time a run is shown (1): a
	// source silenced or an agent disconnected for a real minute is last
	// heard from Scale minutes ago, as when the rules' for: are divided by
	// Scale. Log sources and agents otherwise send at every step.
	Scale int
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.History <= 0 {
		o.History = 2000
	}
	def(&o.Every, time.Minute)
	def(&o.HighEvery, 15*time.Minute)
	def(&o.BurstEvery, 30*time.Minute)
	def(&o.Retention, 5*24*time.Hour)
	if o.BurstSize <= 0 {
		o.BurstSize = 20
	}
	if o.EchoShare <= 0 {
		o.EchoShare = 0.15
	}
	if o.Max <= 0 {
		o.Max = 20000
	}
	if o.Incidents <= 0 {
		o.Incidents = max(o.History/40, 1)
	}
	def(&o.IncidentEvery, time.Hour)
	if o.Scale <= 0 {
		o.Scale = 1
	}
	return o
}

// How analysts work the queue: UTMStack's automatic review takes the first
// minute (status 1), then an alert is open (2) until an analyst takes it
// into review (3), and completed (5) after the review. The waits are drawn
// from exponential distributions with these means, high severity first.
// No status 4 (ignored): no UTMStack backend writes it.
const (
	automaticReview = time.Minute
	meanReview      = 20 * time.Minute
)

var meanPickup = map[int64]time.Duration{3: 6 * time.Minute, 2: 40 * time.Minute, 1: 2 * time.Hour}

// Incidents: open until an analyst takes them into review, then completed.
const (
	meanIncidentPickup = 20 * time.Minute
	meanIncidentWork   = 45 * time.Minute
)

// Simulation makes a fake UTMStack's alerts change over time as in a
// working SOC: new alerts arrive at a steady rate, with bursts and now and
// then a high-severity one, and analysts move them from open to in review
// to completed; incidents are opened and worked the same way. Its log
// sources send and its agents ping, but for the absences Silence and
// Disconnect stage. Each Step advances it to a given time and gives the
// server the alerts, incidents, sources and agents of that moment; Run
// steps it on a ticker.
type Simulation struct {
	server *utmstacktest.Server
	opts   Options
	rng    *rand.Rand

	mu        sync.Mutex
	alerts    []*livingAlert
	incidents []*livingIncident
	last      time.Time
	next      map[arrivalKind]time.Time
	templates map[arrivalKind][]utmstacktest.Alert
	silent    map[string][]absence // log source → when it sends nothing
	offline   map[string][]absence // agent's host → when it does not ping
}

type livingAlert struct {
	doc      utmstacktest.Alert
	created  time.Time
	reviewAt time.Time // open → in review
	closeAt  time.Time // in review → completed
}

// livingIncident is an incident and when it moves on; a zero reviewAt
// means its status stays as it is (completed or merged before the start).
type livingIncident struct {
	incident utmstacktest.Incident
	reviewAt time.Time // OPEN → IN_REVIEW
	closeAt  time.Time // IN_REVIEW → COMPLETED
}

type arrivalKind int

const (
	arrivalRegular arrivalKind = iota
	arrivalHigh
	arrivalBurst
	arrivalIncident
)

// New starts a simulation at start with opts.History alerts, and gives
// them to s.
func New(s *utmstacktest.Server, start time.Time, opts Options) *Simulation {
	opts = opts.withDefaults()
	l := &Simulation{
		server:    s,
		opts:      opts,
		rng:       rand.New(rand.NewPCG(uint64(opts.Seed), 0x2545f4914f6cdd1d)),
		last:      start,
		templates: map[arrivalKind][]utmstacktest.Alert{},
		silent:    map[string][]absence{},
		offline:   map[string][]absence{},
	}
	for _, a := range Alerts(start, opts.History, opts.Seed) {
		ts, _ := time.Parse(time.RFC3339Nano, a["@timestamp"].(string))
		l.alerts = append(l.alerts, l.lifecycle(a, ts))
	}
	// New alerts are drawn from a pool of independent alerts (no echoes):
	// high severity for the high-severity stream, the rest for the others.
	for _, a := range Alerts(start, 500, opts.Seed+1) {
		if _, echo := a["parentId"]; echo {
			continue
		}
		kind := arrivalRegular
		if a["severity"] == int64(3) {
			kind = arrivalHigh
		}
		l.templates[kind] = append(l.templates[kind], a)
	}
	for _, inc := range Incidents(start, opts.Incidents, opts.Seed) {
		li := &livingIncident{incident: inc}
		switch inc.Status {
		case "OPEN":
			li.reviewAt = start.Add(l.wait(meanIncidentPickup))
			li.closeAt = li.reviewAt.Add(l.wait(meanIncidentWork))
		case "IN_REVIEW":
			li.reviewAt = inc.Created
			li.closeAt = start.Add(l.wait(meanIncidentWork))
		}
		l.incidents = append(l.incidents, li)
	}
	l.next = map[arrivalKind]time.Time{
		arrivalRegular:  start.Add(l.wait(opts.Every)),
		arrivalHigh:     start.Add(l.wait(opts.HighEvery)),
		arrivalBurst:    start.Add(l.wait(opts.BurstEvery)),
		arrivalIncident: start.Add(l.wait(opts.IncidentEvery)),
	}
	l.publish(start)
	return l
}

// wait draws an exponential wait with the given mean.
func (l *Simulation) wait(mean time.Duration) time.Duration {
	return max(time.Duration(l.rng.ExpFloat64()*float64(mean)), time.Millisecond)
}

// lifecycle gives an alert created at ts the times an analyst will take it
// into review and complete it.
func (l *Simulation) lifecycle(doc utmstacktest.Alert, ts time.Time) *livingAlert {
	pickup := meanPickup[doc["severity"].(int64)]
	reviewAt := ts.Add(automaticReview + l.wait(pickup))
	return &livingAlert{doc: doc, created: ts, reviewAt: reviewAt, closeAt: reviewAt.Add(l.wait(meanReview))}
}

// Step advances the simulation to now: the alerts that arrived since the
// last step are added, every alert gets the status it has at now, alerts
// beyond the retention are dropped, and the server gets the result. A now
// before the last step changes nothing.
func (l *Simulation) Step(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !now.After(l.last) {
		return
	}
	// After a long pause only the retained span is simulated, so one step
	// does a bounded amount of work.
	from := l.last
	if earliest := now.Add(-l.opts.Retention); from.Before(earliest) {
		from = earliest
	}
	for kind, at := range l.next {
		if at.Before(from) {
			l.next[kind] = from
		}
	}
	for range l.opts.Max {
		kind, at := l.nextArrival()
		if at.After(now) {
			break
		}
		l.arrive(kind, at)
	}
	l.publish(now)
	l.last = now
}

func (l *Simulation) nextArrival() (arrivalKind, time.Time) {
	kind := arrivalRegular
	for k, at := range l.next {
		if at.Before(l.next[kind]) || (at.Equal(l.next[kind]) && k < kind) {
			kind = k
		}
	}
	return kind, l.next[kind]
}

func (l *Simulation) arrive(kind arrivalKind, at time.Time) {
	switch kind {
	case arrivalIncident:
		rule := l.fresh(l.templates[arrivalRegular])
		id := int64(len(l.incidents) + 1)
		if n := len(l.incidents); n > 0 {
			id = l.incidents[n-1].incident.ID + 1
		}
		reviewAt := at.Add(l.wait(meanIncidentPickup))
		l.incidents = append(l.incidents, &livingIncident{
			incident: utmstacktest.Incident{
				ID: id, Name: fmt.Sprintf("INC-%04d %s", id, rule["name"]),
				Description: fmt.Sprintf("Opened from alerts of %s.", rule["name"]),
				Severity:    int(rule["severity"].(int64)), Created: at,
			},
			reviewAt: reviewAt,
			closeAt:  reviewAt.Add(l.wait(meanIncidentWork)),
		})
		l.next[kind] = at.Add(l.wait(l.opts.IncidentEvery))
	case arrivalHigh:
		l.add(l.fresh(l.templates[arrivalHigh]), at)
		l.next[kind] = at.Add(l.wait(l.opts.HighEvery))
	case arrivalBurst:
		// One rule, one adversary, within a minute.
		template := l.fresh(l.templates[arrivalRegular])
		for i := range l.opts.BurstSize {
			a := maps.Clone(template)
			a["id"] = demoUUID(l.rng)
			l.add(a, at.Add(time.Duration(i)*time.Minute/time.Duration(l.opts.BurstSize)))
		}
		l.next[kind] = at.Add(l.wait(l.opts.BurstEvery))
	default:
		if parent := l.recentParent(at); parent != nil && l.rng.Float64() < l.opts.EchoShare {
			echo := maps.Clone(parent.doc)
			echo["id"] = demoUUID(l.rng)
			echo["parentId"] = parent.doc["id"]
			delete(echo, "tags")
			l.add(echo, at)
		} else {
			l.add(l.fresh(l.templates[arrivalRegular]), at)
		}
		l.next[kind] = at.Add(l.wait(l.opts.Every))
	}
}

// fresh copies a random template as a new alert.
func (l *Simulation) fresh(pool []utmstacktest.Alert) utmstacktest.Alert {
	a := maps.Clone(pool[l.rng.IntN(len(pool))])
	a["id"] = demoUUID(l.rng)
	return a
}

// recentParent picks an independent alert of the last hour, or nil.
func (l *Simulation) recentParent(at time.Time) *livingAlert {
	for range 8 {
		if len(l.alerts) == 0 {
			return nil
		}
		c := l.alerts[len(l.alerts)-1-l.rng.IntN(min(len(l.alerts), 200))]
		if _, echo := c.doc["parentId"]; !echo && at.Sub(c.created) < time.Hour {
			return c
		}
	}
	return nil
}

func (l *Simulation) add(a utmstacktest.Alert, at time.Time) {
	a["@timestamp"] = at.UTC().Format(time.RFC3339Nano)
	l.alerts = append(l.alerts, l.lifecycle(a, at))
}

// publish sets every alert's status as of now, drops what is beyond the
// retention or the bound, and hands the alerts to the server.
func (l *Simulation) publish(now time.Time) {
	cutoff := now.Add(-l.opts.Retention)
	kept := l.alerts[:0]
	for _, a := range l.alerts {
		if !a.created.Before(cutoff) {
			kept = append(kept, a)
		}
	}
	clear(l.alerts[len(kept):])
	if extra := len(kept) - l.opts.Max; extra > 0 {
		slices.SortStableFunc(kept, func(a, b *livingAlert) int { return a.created.Compare(b.created) })
		clear(kept[:extra])
		kept = kept[extra:]
	}
	l.alerts = kept
	docs := make([]utmstacktest.Alert, len(l.alerts))
	for i, a := range l.alerts {
		status := int64(5)
		switch {
		case now.Sub(a.created) < automaticReview:
			status = 1
		case now.Before(a.reviewAt):
			status = 2
		case now.Before(a.closeAt):
			status = 3
		}
		a.doc["status"] = status
		a.doc["statusLabel"] = statusLabels[status]
		docs[i] = a.doc
	}
	l.server.SetAlerts(docs)

	// Incidents are counted all time: none is dropped for its age, only
	// the oldest beyond the bound.
	if extra := len(l.incidents) - l.opts.Max; extra > 0 {
		clear(l.incidents[:extra])
		l.incidents = l.incidents[extra:]
	}
	incidents := make([]utmstacktest.Incident, len(l.incidents))
	for i, li := range l.incidents {
		if !li.reviewAt.IsZero() {
			switch {
			case now.Before(li.reviewAt):
				li.incident.Status = "OPEN"
			case now.Before(li.closeAt):
				li.incident.Status = "IN_REVIEW"
			default:
				li.incident.Status = "COMPLETED"
			}
		}
		incidents[i] = li.incident
	}
	l.server.SetIncidents(incidents)
	l.publishCoverage(now)
}

// Alerts returns a copy of the alerts as of the last step.
func (l *Simulation) Alerts() []utmstacktest.Alert {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]utmstacktest.Alert, len(l.alerts))
	for i, a := range l.alerts {
		out[i] = maps.Clone(a.doc)
	}
	return out
}

// Incidents returns the incidents as of the last step.
func (l *Simulation) Incidents() []utmstacktest.Incident {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]utmstacktest.Incident, len(l.incidents))
	for i, li := range l.incidents {
		out[i] = li.incident
	}
	return out
}

// Run steps the simulation at every tick until ctx ends or ticks closes.
func (l *Simulation) Run(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case now, ok := <-ticks:
			if !ok {
				return
			}
			l.Step(now)
		}
	}
}
