package round

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack"
)

// coverageFake is a fakeClient that also lists one data source and one
// agent, each list after coverDelay (forever while hung).
type coverageFake struct {
	*fakeClient
	coverDelay time.Duration
	hung       atomic.Bool
	coverCalls atomic.Int64
}

func (c *coverageFake) cover(ctx context.Context) error {
	c.coverCalls.Add(1)
	var after <-chan time.Time
	if !c.hung.Load() {
		after = time.After(c.coverDelay)
	}
	select {
	case <-after:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (c *coverageFake) DataSources(ctx context.Context, _ utmstack.PageLimits) ([]utmstack.DataSource, int, error) {
	if err := c.cover(ctx); err != nil {
		return nil, 1, err
	}
	return []utmstack.DataSource{{Source: "fw", DataType: "syslog", LastSeen: time.Now(), Median: time.Minute, HasMedian: true}}, 1, nil
}

func (c *coverageFake) Agents(ctx context.Context, _ utmstack.PageLimits) ([]utmstack.Agent, int, error) {
	if err := c.cover(ctx); err != nil {
		return nil, 1, err
	}
	return []utmstack.Agent{{ID: 1, Status: "ONLINE", Version: "11.2.3"}}, 1, nil
}

// coverageInstance is an instance of one query, with incidents, reading
// coverage every minute from c; utmstack.timeout is 10s.
func coverageInstance(t *testing.T, c *coverageFake, logs *bytes.Buffer) *Instance {
	t.Helper()
	s := setup("pw", 0, "all")
	s.Incidents = true
	s.Coverage = config.Coverage{DataSources: true, MaxDataSources: 10, Agents: true, Interval: time.Minute}
	env := Env{NewClient: func(utmstack.Options) (Client, error) { return c, nil },
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	i, err := New(env, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(i.Close) // a read still in flight ends
	return i
}

// coverageUp tells whether r carries a coverage read without a failure.
func coverageUp(r *Result) bool {
	c := r.Coverage
	return c != nil && c.DataSources != nil && c.DataSources.Err == nil && c.Agents != nil && c.Agents.Err == nil
}

// Two Prometheus servers with budgets of 5s and 10s share a round whose
// counts take 2s (six calls of 1s, four at a time), while the coverage
// read takes 6s: both are answered with their counts at 2s, and the read
// is served once it has ended.
func TestCoverageReadNeverDelaysTheCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &coverageFake{fakeClient: &fakeClient{delay: time.Second}, coverDelay: 3 * time.Second}
		var logs bytes.Buffer
		i := coverageInstance(t, c, &logs)
		long := scrape(i, 10*time.Second)
		synctest.Wait()
		short := scrape(i, 5*time.Second)
		for _, sc := range []struct {
			name string
			ch   <-chan timed
		}{{"5s", short}, {"10s", long}} {
			name, got := sc.name, <-sc.ch
			if !got.Up || !got.Queries[0].OK || got.Incidents.Err != nil || got.took != 2*time.Second {
				t.Fatalf("the %s scrape: up %v, query %+v after %v; want its counts at 2s", name, got.Up, got.Queries[0], got.took)
			}
		}
		time.Sleep(4 * time.Second) // the read (two lists of 3s, one at a time) has ended
		got := <-scrape(i, 10*time.Second)
		if !coverageUp(got.Result) || len(got.Coverage.DataSources.Sources) != 1 || got.Coverage.Agents.Statuses[0] != 1 {
			t.Fatalf("the scrape after the read: coverage %+v", got.Coverage)
		}
		if n := c.coverCalls.Load(); n != 2 {
			t.Fatalf("%d coverage calls, want one read's 2", n)
		}
	})
}

// A scrape with a budget of a microsecond starts the coverage read; it
// neither cuts it nor blanks coverage for the scrapes that follow.
func TestTinyBudgetNeverCutsTheCoverageRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &coverageFake{fakeClient: &fakeClient{delay: 100 * time.Millisecond}, coverDelay: 100 * time.Millisecond}
		var logs bytes.Buffer
		i := coverageInstance(t, c, &logs)
		if got := <-scrape(i, time.Microsecond); got.Up {
			t.Fatal("a round cut after a microsecond is up")
		}
		time.Sleep(time.Second)
		got := <-scrape(i, 10*time.Second)
		if !coverageUp(got.Result) {
			t.Fatalf("after a tiny-budget scrape started the read: coverage %+v", got.Coverage)
		}
		if n := c.coverCalls.Load(); n != 2 {
			t.Fatalf("%d coverage calls, want one read's 2", n)
		}
	})
}

// A read that UTMStack does not answer within utmstack.timeout keeps the
// last read served, is tried again after 15s, then 30s (never more often),
// and is told as a failure once the last read is three intervals old.
func TestCutCoverageReadKeepsTheLastAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &coverageFake{fakeClient: &fakeClient{delay: time.Millisecond}, coverDelay: time.Millisecond}
		var logs bytes.Buffer
		i := coverageInstance(t, c, &logs)
		if got := i.Coverage(t.Context()); got == nil || got.DataSources.Err != nil {
			t.Fatalf("the first read: %+v", got)
		}
		c.hung.Store(true)
		time.Sleep(time.Minute)
		<-scrape(i, 10*time.Second) // starts a read, which hangs
		reads := c.coverCalls.Load
		time.Sleep(10 * time.Second) // cut by utmstack.timeout
		synctest.Wait()
		if got := <-scrape(i, 10*time.Second); !coverageUp(got.Result) {
			t.Fatalf("after a cut read: coverage %+v, want the last read kept", got.Coverage)
		}
		before := reads()
		time.Sleep(14 * time.Second)
		<-scrape(i, 10*time.Second)
		if reads() != before {
			t.Fatal("a read was tried again within 15s of a cut")
		}
		time.Sleep(time.Second)
		<-scrape(i, 10*time.Second) // 15s after the cut: due
		synctest.Wait()
		if reads() == before {
			t.Fatal("no read tried 15s after a cut")
		}
		time.Sleep(10 * time.Second) // cut again; the next after 30s
		before = reads()
		time.Sleep(29 * time.Second)
		<-scrape(i, 10*time.Second)
		if reads() != before {
			t.Fatal("a read was tried again within 30s of a second cut")
		}
		// Keep scraping every 15s while every read hangs: the last read
		// is served until it is three minutes old, then the cut is told.
		var got timed
		for range 12 {
			time.Sleep(15 * time.Second)
			got = <-scrape(i, 10*time.Second)
		}
		if got.Coverage == nil || got.Coverage.DataSources.Err == nil || got.Coverage.Agents.Err == nil {
			t.Fatalf("reads hung for 4 minutes: coverage %+v, want the cut told", got.Coverage)
		}
		if !strings.Contains(logs.String(), "cannot read UTMStack's data sources") {
			t.Fatalf("the failure is not logged:\n%s", logs.String())
		}
	})
}
