// Package procstat reads a process's CPU time from /proc, for the
// measurement tools (tools/loadtest, tools/floor).
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime: 100 on Linux.
const clockTicks = 100

// CPUTime is the user plus system CPU time pid has used, from
// /proc/<pid>/stat.
func CPUTime(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseCPUTime(stat)
}

// parseCPUTime returns utime+stime (fields 14 and 15) of a /proc/<pid>/stat
// line. The command name is in parentheses and may hold spaces and
// parentheses, so fields are counted after the last ')'.
func parseCPUTime(stat []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc stat without a command: %q", stat)
	}
	fields := strings.Fields(string(stat[end+1:])) // fields[0] is field 3
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc stat of %d fields after the command, want at least 13: %q", len(fields), stat)
	}
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat utime %q: %w", fields[11], err)
	}
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat stime %q: %w", fields[12], err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
