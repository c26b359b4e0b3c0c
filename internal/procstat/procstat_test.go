package procstat

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseCPUTime(t *testing.T) {
	// A command with a space and a ')' in it; utime 250, stime 50 ticks.
	stat := "4242 (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 1000 10\n"
	got, err := parseCPUTime([]byte(stat))
	if err != nil || got != 3*time.Second {
		t.Errorf("got %v, %v; want 3s", got, err)
	}
	for _, bad := range []string{"", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 many 50 0"} {
		if _, err := parseCPUTime([]byte(bad)); err == nil {
			t.Errorf("%q parsed without an error", bad)
		}
	}
}

// This process's CPU time rises while it works; bounded in rounds, not time.
func TestCPUTimeOfThisProcess(t *testing.T) {
	before, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var sink int
	for range 1000 {
		now, err := CPUTime(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now > before {
			return
		}
		sink += len(strings.Repeat("x", 100000))
	}
	t.Errorf("CPU time stayed at %v after 1000 rounds of work (%d)", before, sink)
}

func TestCPUTimeOfNoProcess(t *testing.T) {
	if _, err := CPUTime(-1); err == nil {
		t.Error("no error for pid -1")
	}
}
