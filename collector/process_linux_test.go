//go:build linux

package collector

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// processValues gathers c alone and returns each metric's value and type.
func processValues(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	return byName
}

func familyValue(f *dto.MetricFamily) float64 {
	m := f.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// The lean collector is a drop-in for client_golang's: the same metrics, with
// the same types, and values that agree. Values that move are checked
// against client_golang's read just before and just after ours.
func TestProcessCollectorMatchesClientGolang(t *testing.T) {
	standard := collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})
	before := processValues(t, standard)
	ours := processValues(t, NewProcessCollector())
	after := processValues(t, standard)

	if len(ours) != len(before) {
		t.Errorf("%d process metrics, client_golang has %d", len(ours), len(before))
	}
	for name, want := range before {
		got, ok := ours[name]
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if got.GetType() != want.GetType() {
			t.Errorf("%s: type %v, client_golang's is %v", name, got.GetType(), want.GetType())
		}
		v, lo, hi := familyValue(got), familyValue(want), familyValue(after[name])
		if lo > hi {
			lo, hi = hi, lo
		}
		var slack float64
		switch name {
		case "process_max_fds", "process_virtual_memory_max_bytes":
			slack = 0 // the same limit
		case "process_start_time_seconds":
			slack = 1e-3 // the same sum, maybe rounded differently
		case "process_cpu_seconds_total":
			slack = 0.02 // client_golang counts whole 10 ms ticks; getrusage microseconds
		case "process_open_fds":
			slack = 1 // the test binary's other goroutines may open or close one
		case "process_resident_memory_bytes", "process_virtual_memory_bytes":
			slack = 0.1 * lo // the heap moves between the three reads
		case "process_network_receive_bytes_total", "process_network_transmit_bytes_total":
			slack = 0 // counters: ours is read between the two of client_golang
		default:
			t.Errorf("%s: a metric this test does not know", name)
		}
		if v < lo-slack || v > hi+slack {
			t.Errorf("%s = %g, client_golang read %g before and %g after (slack %g)", name, v, familyValue(want), familyValue(after[name]), slack)
		}
	}
}

func TestProcessCollectorLint(t *testing.T) {
	c := NewProcessCollector()
	if _, ok := c.(*processCollector); !ok {
		t.Fatalf("NewProcessCollector on Linux with /proc returned %T, want the lean collector", c)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	want := 9
	if _, err := readProcFile("/proc/self/net/netstat", make([]byte, 64<<10)); err != nil {
		want = 7 // a sandbox without it (gVisor): no network counters
	}
	if n := testutil.CollectAndCount(c); n != want {
		t.Errorf("%d metrics, want %d", n, want)
	}
}

func TestParseStartTicks(t *testing.T) {
	// Field 22 is 8071; the command holds spaces and a ')' of its own.
	fields := []string{"R", "1", "2", "3", "0", "-1", "4194560", "120", "0", "0", "0", "5", "3", "0", "0", "20", "0", "9", "0", "8071", "1271713792"}
	good := "4242 (a) b (c) " + strings.Join(fields, " ") + "\n"
	if got, err := parseStartTicks([]byte(good)); err != nil || got != 8071 {
		t.Errorf("parseStartTicks(%q) = %d, %v; want 8071", good, got, err)
	}
	for _, bad := range []string{
		"4242 no parenthesis 1 2 3",
		"4242 (a) R 1 2 3", // truncated
		"4242 (a) " + strings.Join(fields[:19], " ") + " x 1271713792", // not a number
	} {
		if _, err := parseStartTicks([]byte(bad)); err == nil || !strings.Contains(err.Error(), "/proc/self/stat") {
			t.Errorf("parseStartTicks(%q): error %v, want one naming /proc/self/stat", bad, err)
		}
	}
}

func TestParseBootTime(t *testing.T) {
	stat := "cpu  1 2 3\nintr 5 6\nctxt 77\nbtime 1795451759\nprocesses 9\n"
	if got, err := parseBootTime([]byte(stat)); err != nil || got != 1795451759 {
		t.Errorf("parseBootTime = %d, %v; want 1795451759", got, err)
	}
	for _, bad := range []string{"cpu 1 2 3\n", "btime soon\n"} {
		if _, err := parseBootTime([]byte(bad)); err == nil || !strings.Contains(err.Error(), "btime") {
			t.Errorf("parseBootTime(%q): error %v, want one naming btime", bad, err)
		}
	}
}

// Where /proc/stat is hidden (systemd's ProcSubset=pid), the start time
// comes from the uptime instead, and agrees with the btime one.
func TestProcessStartTimeWithoutProcStat(t *testing.T) {
	fromBtime, err := processStartTime("/proc/stat")
	if err != nil {
		t.Skipf("no /proc/stat here: %v", err)
	}
	fromUptime, err := processStartTime(filepath.Join(t.TempDir(), "hidden-stat"))
	if err != nil {
		t.Fatalf("without /proc/stat: %v", err)
	}
	// Both boot times are whole seconds and the uptime's is read a moment
	// later, so they may differ by a second or two, never more.
	if d := math.Abs(fromUptime - fromBtime); d > 2 {
		t.Errorf("start time %v from the uptime, %v from btime: %v s apart", fromUptime, fromBtime, d)
	}
}

func TestParseStatm(t *testing.T) {
	if size, resident, err := parseStatm([]byte("765 434 405 5 0 123 0\n")); err != nil || size != 765 || resident != 434 {
		t.Errorf("parseStatm = %d, %d, %v; want 765, 434", size, resident, err)
	}
	for _, bad := range []string{"", "765", "765 x 405", "-1 2"} {
		if _, _, err := parseStatm([]byte(bad)); err == nil || !strings.Contains(err.Error(), "/proc/self/statm") {
			t.Errorf("parseStatm(%q): error %v, want one naming /proc/self/statm", bad, err)
		}
	}
}

func TestParseIPOctets(t *testing.T) {
	tcp := "TcpExt: SyncookiesSent SyncookiesRecv\nTcpExt: 0 0\n"
	// Columns found by name, in whatever order the kernel writes them.
	good := tcp + "IpExt: InNoRoutes OutOctets InOctets\nIpExt: 3 2000 1000\nMPTcpExt: A\nMPTcpExt: 1\n"
	if in, out, err := parseIPOctets([]byte(good)); err != nil || in != 1000 || out != 2000 {
		t.Errorf("parseIPOctets = %g, %g, %v; want 1000, 2000", in, out, err)
	}
	for _, bad := range []string{
		tcp,                                 // no IpExt
		tcp + "IpExt: InOctets OutOctets\n", // no values line
		"IpExt: InOctets OutOctets\nIpExt: 1\n",
		"IpExt: InOctets Other\nIpExt: 1 2\n", // no OutOctets
		"IpExt: InOctets OutOctets\nIpExt: 1 -2\n",
	} {
		if _, _, err := parseIPOctets([]byte(bad)); err == nil || !strings.Contains(err.Error(), "netstat") {
			t.Errorf("parseIPOctets(%q): error %v, want one naming netstat", bad, err)
		}
	}
}

// dirent encodes one linux_dirent64 record, padded to 8 bytes as the kernel does.
func dirent(name string) []byte {
	reclen := (19 + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.NativeEndian.PutUint16(b[16:18], uint16(reclen))
	copy(b[19:], name)
	return b
}

func TestCountDirents(t *testing.T) {
	var buf []byte
	for _, name := range []string{".", "..", "0", "1", "2", "17", "123456789"} {
		buf = append(buf, dirent(name)...)
	}
	if n, err := countDirents(buf); err != nil || n != 5 {
		t.Errorf("countDirents = %d, %v; want 5 (. and .. left out)", n, err)
	}
	if _, err := countDirents(buf[:len(buf)-3]); err == nil {
		t.Error("countDirents of a cut record: no error")
	}
	zero := make([]byte, 24) // reclen 0 would loop for ever
	if _, err := countDirents(zero); err == nil {
		t.Error("countDirents of a record of length 0: no error")
	}
}

func TestReadProcFileRefusesWhatDoesNotFit(t *testing.T) {
	if _, err := readProcFile("/proc/self/stat", make([]byte, 8)); err == nil || !strings.Contains(err.Error(), "longer than 8 bytes") {
		t.Errorf("error %v, want one saying the file is longer than the buffer", err)
	}
	if _, err := readProcFile("/proc/self/no-such-file", make([]byte, 64)); err == nil || !strings.Contains(err.Error(), "/proc/self/no-such-file") {
		t.Errorf("error %v, want one naming the file", err)
	}
}

// BenchmarkProcessCollector is one collection of the process metrics: this
// collector against client_golang's, which it replaces on Linux.
func BenchmarkProcessCollector(b *testing.B) {
	for _, c := range []struct {
		name      string
		collector prometheus.Collector
	}{
		{"lean", NewProcessCollector()},
		{"client_golang", collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})},
	} {
		b.Run(c.name, func(b *testing.B) {
			ch := make(chan prometheus.Metric, 16)
			b.ReportAllocs()
			for b.Loop() {
				c.collector.Collect(ch)
				if len(ch) != 9 {
					b.Fatalf("%d metrics, want 9", len(ch))
				}
				for len(ch) > 0 {
					<-ch
				}
			}
		})
	}
}
