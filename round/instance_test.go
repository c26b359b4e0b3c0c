package round

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// The round model, on a fake client inside synctest bubbles: time moves
// only when every goroutine of the test waits, so deadlines, slow calls
// and min_interval are exact, and synctest.Wait says when a scrape has
// joined a round.

// fakeClient answers every call after delay (forever with hang), with
// five alerts in status 2 and 5. A deaf one notices a cut context only
// once the delay is over.
type fakeClient struct {
	delay        time.Duration
	hang, deaf   bool
	fail         atomic.Pointer[error] // when set, every call fails with it
	calls        atomic.Int64
	cut          atomic.Int64 // calls that ended by their context
	closed       atomic.Bool
	unauthorized atomic.Uint64

	mu           sync.Mutex
	keep         int
	loginTimeout time.Duration
}

func (c *fakeClient) answer(ctx context.Context) error {
	c.calls.Add(1)
	var after <-chan time.Time
	if !c.hang {
		after = time.After(c.delay)
	}
	done := ctx.Done()
	if c.deaf {
		done = nil
	}
	select {
	case <-after:
	case <-done:
	}
	if ctx.Err() != nil {
		c.cut.Add(1)
		return context.Cause(ctx)
	}
	if err := c.fail.Load(); err != nil {
		return *err
	}
	return nil
}

func (c *fakeClient) ValuesWithCount(ctx context.Context, _ utmstack.ValuesRequest) (map[string]int64, error) {
	if err := c.answer(ctx); err != nil {
		return nil, err
	}
	return map[string]int64{"2": 4, "5": 1}, nil
}

func (c *fakeClient) AlertTime(ctx context.Context, _ string, _ []utmstack.Filter, _ bool) (time.Time, bool, error) {
	return time.Time{}, false, c.answer(ctx)
}

func (c *fakeClient) CountIncidents(ctx context.Context, _ string) (int64, error) {
	return 1, c.answer(ctx)
}

func (c *fakeClient) Version(ctx context.Context) (string, error) { return "11.2.3", c.answer(ctx) }
func (c *fakeClient) Unauthorized() uint64                        { return c.unauthorized.Load() }
func (c *fakeClient) Close()                                      { c.closed.Store(true) }

func (c *fakeClient) Adjust(keep int, loginTimeout time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keep, c.loginTimeout = keep, loginTimeout
}

func (c *fakeClient) adjusted() (keep int, loginTimeout time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keep, c.loginTimeout
}

// fixture builds instances whose clients are fakes, made as next says.
type fixture struct {
	t     *testing.T
	next  func() *fakeClient
	built []*fakeClient
	logs  bytes.Buffer // written under the instance's mutex, read after the rounds
	env   Env
}

func newFixture(t *testing.T, next func() *fakeClient) *fixture {
	f := &fixture{t: t, next: next}
	f.env = Env{
		NewClient: func(utmstack.Options) (Client, error) {
			c := f.next()
			f.built = append(f.built, c)
			return c, nil
		},
		Logger: slog.New(slog.NewTextHandler(&f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return f
}

// setup is one query per name on v11-alert-*, counted by status only:
// one call per query, and the index count or the version once in a while.
func setup(password string, minInterval time.Duration, names ...string) Setup {
	u := config.UTMStack{
		URL:     &url.URL{Scheme: "http", Host: "127.0.0.1:9"},
		Timeout: 10 * time.Second, MaxConcurrency: 4, MinInterval: minInterval,
		Auth: config.Auth{Method: utmstack.AuthPassword, Username: "prometheus", Secret: utmstack.Secret(password)},
	}
	queries := make([]config.Query, len(names))
	for i, n := range names {
		queries[i] = config.Query{Name: n, IndexPattern: "v11-alert-*", Fields: config.Fields{Status: "status"}}
	}
	return Setup{UTMStack: u, Plans: NewPlans(queries)}
}

func (f *fixture) instance(s Setup) *Instance {
	i, err := New(f.env, s)
	if err != nil {
		f.t.Fatal(err)
	}
	return i
}

// scrape scrapes i in a goroutine with the given budget; the result comes
// on the channel, with how long the scrape took.
func scrape(i *Instance, budget time.Duration) <-chan timed {
	out := make(chan timed, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		start := time.Now()
		r := i.Scrape(ctx)
		out <- timed{r, time.Since(start)}
	}()
	return out
}

type timed struct {
	*Result
	took time.Duration
}

func slow(delay time.Duration) func() *fakeClient {
	return func() *fakeClient { return &fakeClient{delay: delay} }
}

func TestScrapesWithEqualBudgetsShareOneRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, slow(time.Second))
		i := f.instance(setup("pw", 0, "all", "open"))
		first := scrape(i, 10*time.Second)
		synctest.Wait() // the round is in flight
		var rest []<-chan timed
		for range 49 {
			time.Sleep(time.Millisecond) // each a moment later: a later deadline
			rest = append(rest, scrape(i, 10*time.Second))
		}
		want := <-first
		if !want.Up || want.took != time.Second {
			t.Fatalf("the round's starter: up %v after %v, want up after 1s", want.Up, want.took)
		}
		for _, c := range rest {
			if got := <-c; got.Result != want.Result {
				t.Fatal("a scrape with the same budget was served another round")
			}
		}
		// Two queries and the first round's index count.
		if n := f.built[0].calls.Load(); n != 3 {
			t.Fatalf("50 scrapes made %d calls, want one round's 3", n)
		}
	})
}

func TestJoinerAnswersAtItsOwnDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, slow(5*time.Second))
		s := setup("pw", 0, "all")
		s.Incidents = true // 6 calls, 4 at a time: two of 5s each
		s.UTMStack.Timeout = time.Minute
		i := f.instance(s)
		long := scrape(i, 30*time.Second)
		synctest.Wait()
		short := <-scrape(i, time.Second)
		if short.took != time.Second || short.Up || short.Incidents.Err == nil {
			t.Fatalf("the joiner: up %v, incidents %v after %v, want down at 1s", short.Up, short.Incidents.Err, short.took)
		}
		if q := short.Queries[0]; q.OK || !errors.Is(q.Err, context.DeadlineExceeded) {
			t.Fatalf("the joiner's query: %+v, want failed by its deadline", q)
		}
		if got := <-long; !got.Up || got.took != 10*time.Second {
			t.Fatalf("the round's starter: up %v after %v, want up after 10s", got.Up, got.took)
		}
	})
}

// A scrape with a short budget starts a round that a scrape with a
// longer one joins: the short one answers at its deadline, and the round
// runs on for the other, uncut.
func TestShortBudgetDoesNotCutTheRoundOthersJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, slow(300*time.Millisecond))
		i := f.instance(setup("pw", 0, "all"))
		short := scrape(i, 100*time.Millisecond)
		synctest.Wait()
		time.Sleep(10 * time.Millisecond)
		long := scrape(i, 10*time.Second)
		if got := <-short; got.Up || got.took != 100*time.Millisecond {
			t.Fatalf("the short scrape: up %v after %v, want down at its 100ms", got.Up, got.took)
		}
		got := <-long
		if !got.Up || !got.Queries[0].OK || got.Queries[0].Total != 5 {
			t.Fatalf("the longer scrape inherited the short one's cut: %+v", got.Queries[0])
		}
		c := f.built[0]
		if c.calls.Load() != 2 || c.cut.Load() != 0 {
			t.Fatalf("%d calls, %d of them cut; want one round's 2, none cut", c.calls.Load(), c.cut.Load())
		}
	})
}

// A round its deadline cut is neither joined nor served again under
// min_interval; an uncut one is served again until min_interval passes.
func TestCutRoundIsNeverReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, slow(300*time.Millisecond))
		i := f.instance(setup("pw", 30*time.Second, "all"))
		if got := <-scrape(i, time.Microsecond); got.Up {
			t.Fatal("a round cut after a microsecond is up")
		}
		fresh := <-scrape(i, 10*time.Second)
		if !fresh.Up {
			t.Fatalf("the scrape after a cut round was served it: %+v", fresh.Queries[0])
		}
		calls := f.built[0].calls.Load()
		time.Sleep(29 * time.Second)
		if again := <-scrape(i, 10*time.Second); again.Result != fresh.Result || again.took != 0 {
			t.Fatal("a scrape within min_interval of an uncut round was not served it")
		}
		if n := f.built[0].calls.Load(); n != calls {
			t.Fatalf("a scrape within min_interval made %d calls", n-calls)
		}
		time.Sleep(2 * time.Second)
		if later := <-scrape(i, 10*time.Second); later.Result == fresh.Result || !later.Up {
			t.Fatal("a scrape after min_interval was served the old round")
		}
	})
}

// A round cut while its calls have not yet ended is not joined.
func TestCutRoundStillRunningIsNotJoined(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, func() *fakeClient { return &fakeClient{delay: time.Second, deaf: true} })
		i := f.instance(setup("pw", 0, "all"))
		short := scrape(i, 100*time.Millisecond)
		time.Sleep(200 * time.Millisecond) // cut, its calls still running
		long := scrape(i, 10*time.Second)
		if got := <-short; got.Up {
			t.Fatal("the cut round is up")
		}
		if got := <-long; !got.Up || got.took != time.Second {
			t.Fatalf("the scrape after the cut: up %v after %v, want a round of its own, up after 1s", got.Up, got.took)
		}
	})
}

// Scrapes that keep joining a round that hangs cannot hold it past the
// configured timeout after its start.
func TestRoundEndsByTheConfiguredTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, func() *fakeClient { return &fakeClient{hang: true} })
		i := f.instance(setup("pw", 0, "all")) // timeout 10s
		first := scrape(i, 10*time.Second)
		synctest.Wait()
		time.Sleep(5 * time.Second)
		late := scrape(i, 10*time.Second)
		<-first
		got := <-late
		if got.took != 5*time.Second || got.Up {
			t.Fatalf("the late joiner: up %v after %v, want down when the round reaches 10s", got.Up, got.took)
		}
		if err := got.Queries[0].Err; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a call cut at the round's end failed with %v, want a deadline exceeded", err)
		}
		if c := f.built[0]; c.cut.Load() != c.calls.Load() {
			t.Fatalf("%d of %d hanging calls cut", c.cut.Load(), c.calls.Load())
		}
	})
}

func TestReloadWithTheSameSettingsKeepsClientAndSightings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, slow(time.Millisecond))
		i := f.instance(setup("pw", 0, "all"))
		<-scrape(i, time.Second) // reads the index totals
		<-scrape(i, time.Second) // reads the version
		p, err := f.env.Prepare(i, setup("pw", 0, "all", "open"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Commit() != i {
			t.Fatal("a reload made another instance")
		}
		c := f.built[0]
		if len(f.built) != 1 || c.closed.Load() {
			t.Fatalf("%d clients built, the first closed: %v; want the one, open", len(f.built), c.closed.Load())
		}
		before := c.calls.Load()
		got := <-scrape(i, time.Second)
		if got.Version != "11.2.3" || got.IndexAlerts["v11-alert-*"] != 5 {
			t.Fatalf("sightings after a reload that kept the client: %+v", got.Sightings)
		}
		if n := c.calls.Load() - before; n != 2 {
			t.Fatalf("the round after the reload made %d calls, want its two queries' (nothing periodic due)", n)
		}
		if _, ok := i.LastSuccesses()["open"]; !ok || len(got.Queries) != 2 {
			t.Fatal("the reload's new query was not asked")
		}
	})
}

// A reload that changes utmstack.timeout and max_concurrency keeps the
// client (a new one would cost a login) and adjusts its login timeout and
// kept connections, at Commit: Prepare changes nothing.
func TestReloadWithANewTimeoutAdjustsTheKeptClient(t *testing.T) {
	f := newFixture(t, slow(time.Millisecond))
	first := setup("pw", 0, "all")
	first.Keep = 4
	i := f.instance(first)
	s := setup("pw", 0, "all")
	s.UTMStack.Timeout, s.UTMStack.MaxConcurrency, s.Keep = 3*time.Second, 8, 8
	p, err := f.env.Prepare(i, s)
	if err != nil {
		t.Fatal(err)
	}
	c := f.built[0]
	if keep, timeout := c.adjusted(); keep != 0 || timeout != 0 {
		t.Fatalf("Prepare adjusted the client to keep %d, login timeout %v; want nothing changed before Commit", keep, timeout)
	}
	p.Commit()
	if len(f.built) != 1 || c.closed.Load() {
		t.Fatalf("%d clients built, the first closed: %v; want the one kept", len(f.built), c.closed.Load())
	}
	if keep, timeout := c.adjusted(); keep != 8 || timeout != 3*time.Second {
		t.Fatalf("the kept client keeps %d connections, login timeout %v; want 8 and 3s", keep, timeout)
	}
}

func TestReloadWithNewCredentialsReplacesTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, slow(time.Millisecond))
		i := f.instance(setup("pw", 0, "all", "open"))
		<-scrape(i, time.Second)
		<-scrape(i, time.Second)
		success := i.LastSuccesses()["all"]

		p, err := f.env.Prepare(i, setup("rotated", 0, "all"))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.built) != 2 || f.built[0].closed.Load() {
			t.Fatal("Prepare must build the new client and leave the old one open until Commit")
		}
		p.Commit()
		if !f.built[0].closed.Load() || f.built[1].closed.Load() {
			t.Fatal("Commit must close the replaced client and keep the new one")
		}
		if got := i.LastSuccesses(); !got["all"].Equal(success) || len(got) != 1 {
			t.Fatalf("last successes after the reload: %v, want all's kept and open's forgotten", got)
		}
		got := <-scrape(i, time.Second)
		if got.Version != "" || f.built[1].calls.Load() != 2 {
			t.Fatalf("a new client starts afresh: version %q, %d calls (want the query and the index count)", got.Version, f.built[1].calls.Load())
		}

		// A reload that fails later is discarded: its client is closed.
		p, err = f.env.Prepare(i, setup("again", 0, "all"))
		if err != nil {
			t.Fatal(err)
		}
		p.Discard()
		if !f.built[2].closed.Load() || f.built[1].closed.Load() {
			t.Fatal("Discard must close only the client built for it")
		}
	})
}

// A round still running when a reload keeps the client records its
// success where the reloaded instance reads it, and a scrape after the
// reload starts a round of its own.
func TestReloadDuringARoundKeepsItsSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, slow(time.Second))
		i := f.instance(setup("pw", 0, "all"))
		old := scrape(i, 10*time.Second)
		synctest.Wait()
		p, err := f.env.Prepare(i, setup("pw", 0, "all"))
		if err != nil {
			t.Fatal(err)
		}
		p.Commit()
		fresh := scrape(i, 10*time.Second)
		if o, n := <-old, <-fresh; o.Result == n.Result || !o.Up || !n.Up {
			t.Fatal("a scrape after a reload joined the round of the old configuration")
		}
		if _, ok := i.LastSuccesses()["all"]; !ok {
			t.Fatal("the success of the round that ran across the reload was lost")
		}
	})
}

// One log-once mechanism: a failure is logged at warning once, at debug
// while it repeats, told recovered once; a reload that keeps the client
// keeps what was told, a new client tells it again.
func TestProblemsAreToldOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, slow(time.Millisecond))
		i := f.instance(setup("pw", 0, "all"))
		fail := func(c *fakeClient) {
			err := errors.New("no shards")
			c.fail.Store(&err)
		}
		fail(f.built[0])
		for range 2 {
			<-scrape(i, time.Second)
		}
		p, _ := f.env.Prepare(i, setup("pw", 0, "all"))
		p.Commit()
		<-scrape(i, time.Second)
		p, _ = f.env.Prepare(i, setup("rotated", 0, "all"))
		fail(f.built[1])
		p.Commit()
		<-scrape(i, time.Second)
		f.built[1].fail.Store(nil)
		<-scrape(i, time.Second)
		<-scrape(i, time.Second)

		logs := f.logs.String()
		count := func(s string) int { return strings.Count(logs, s) }
		if w, d := count(`level=WARN msg="query failed" query=all`), count(`level=DEBUG msg="query failed" query=all`); w != 2 || d != 2 {
			t.Fatalf("%d warnings and %d debug lines for a failure over 4 rounds and a new client, want 2 and 2:\n%s", w, d, logs)
		}
		if n := count(`level=INFO msg="query recovered" query=all`); n != 1 {
			t.Fatalf("recovery told %d times, want 1:\n%s", n, logs)
		}
	})
}

// Reloads (one at a time, as the exporter makes them) under scrapes: what
// the race detector sees.
func TestReloadsUnderScrapes(t *testing.T) {
	f := newFixture(t, slow(0))
	i := f.instance(setup("pw", 0, "all"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if r := <-scrape(i, time.Second); len(r.Queries) == 0 {
					t.Error("a scrape was served no query")
				}
			}
		})
	}
	for n := range 20 {
		p, err := f.env.Prepare(i, setup([]string{"a", "b"}[n/10], time.Duration(n%2)*time.Second, "all", "open"))
		if err != nil {
			t.Fatal(err)
		}
		p.Commit()
	}
	wg.Wait()
	if n := len(f.built); n != 3 { // pw, a, b
		t.Fatalf("%d clients built over reloads between three passwords, want 3", n)
	}
}
