//go:build linux

package collector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewProcessCollector returns the collector of the process_* metrics. On
// Linux they are the nine that client_golang's process collector exports,
// with the same names, types, units and values (the help texts are worded
// here), at about a third of its cost per scrape (BENCHMARKS.md, "A leaner
// process collector"):
//
//   - the start time is computed once, not from /proc/stat on every scrape;
//   - the limits come from getrlimit and the CPU time from getrusage, not
//     from parsing /proc/self/limits and /proc/self/stat;
//   - the memory comes from the short /proc/self/statm, the open descriptors
//     from the size of /proc/self/fd (Linux 6.2 and later);
//   - /proc files are read with plain syscalls, without os.File's fstat,
//     fcntl and poller registration.
//
// Slow syscalls cost more than their own time: one that stays in the kernel
// past a sysmon tick (20 µs) makes the Go runtime hand the P to another
// thread. Without /proc (an unusual sandbox) it falls back to client_golang's.
func NewProcessCollector() prometheus.Collector {
	start, err := processStartTime("/proc/stat")
	if err != nil {
		return collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})
	}
	return &processCollector{start: start, pageSize: float64(os.Getpagesize())}
}

var (
	processCPUDesc = prometheus.NewDesc("process_cpu_seconds_total",
		"User and system CPU time the process has used, in seconds.", nil, nil)
	processOpenFDsDesc = prometheus.NewDesc("process_open_fds",
		"File descriptors the process has open.", nil, nil)
	processMaxFDsDesc = prometheus.NewDesc("process_max_fds",
		"Soft limit on the process's open file descriptors.", nil, nil)
	processVirtualDesc = prometheus.NewDesc("process_virtual_memory_bytes",
		"Virtual memory size of the process, in bytes.", nil, nil)
	processMaxVirtualDesc = prometheus.NewDesc("process_virtual_memory_max_bytes",
		"Soft limit on the process's virtual memory size, in bytes.", nil, nil)
	processResidentDesc = prometheus.NewDesc("process_resident_memory_bytes",
		"Resident memory size of the process, in bytes.", nil, nil)
	processStartDesc = prometheus.NewDesc("process_start_time_seconds",
		"Start time of the process since the Unix epoch, in seconds.", nil, nil)
	processReceiveDesc = prometheus.NewDesc("process_network_receive_bytes_total",
		"Bytes received over IP in the process's network namespace (IpExt InOctets).", nil, nil)
	processTransmitDesc = prometheus.NewDesc("process_network_transmit_bytes_total",
		"Bytes sent over IP in the process's network namespace (IpExt OutOctets).", nil, nil)
)

type processCollector struct {
	start    float64 // Unix seconds
	pageSize float64

	mu  sync.Mutex // guards buf: gathers of different rounds may overlap
	buf [16 << 10]byte
}

func (c *processCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{processCPUDesc, processOpenFDsDesc, processMaxFDsDesc,
		processVirtualDesc, processMaxVirtualDesc, processResidentDesc, processStartDesc,
		processReceiveDesc, processTransmitDesc} {
		ch <- d
	}
}

// Collect sends what it can read. Like client_golang's collector by default,
// it leaves out a metric it cannot read rather than failing the scrape. (One
// difference: when /proc/self/net/netstat lacks InOctets or OutOctets,
// client_golang exports both network counters as 0; this leaves them out.)
func (c *processCollector) Collect(ch chan<- prometheus.Metric) {
	var usage syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &usage) == nil {
		cpu := float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
		ch <- prometheus.MustNewConstMetric(processCPUDesc, prometheus.CounterValue, cpu)
	}
	var limit syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit) == nil {
		ch <- prometheus.MustNewConstMetric(processMaxFDsDesc, prometheus.GaugeValue, float64(limit.Cur))
	}
	if syscall.Getrlimit(syscall.RLIMIT_AS, &limit) == nil {
		ch <- prometheus.MustNewConstMetric(processMaxVirtualDesc, prometheus.GaugeValue, float64(limit.Cur))
	}
	ch <- prometheus.MustNewConstMetric(processStartDesc, prometheus.GaugeValue, c.start)

	c.mu.Lock()
	defer c.mu.Unlock()
	if statm, err := readProcFile("/proc/self/statm", c.buf[:]); err == nil {
		if size, resident, err := parseStatm(statm); err == nil {
			ch <- prometheus.MustNewConstMetric(processVirtualDesc, prometheus.GaugeValue, float64(size)*c.pageSize)
			ch <- prometheus.MustNewConstMetric(processResidentDesc, prometheus.GaugeValue, float64(resident)*c.pageSize)
		}
	}
	if n, err := countOpenFDs(c.buf[:]); err == nil {
		ch <- prometheus.MustNewConstMetric(processOpenFDsDesc, prometheus.GaugeValue, float64(n))
	}
	if netstat, err := readProcFile("/proc/self/net/netstat", c.buf[:]); err == nil {
		if in, out, err := parseIPOctets(netstat); err == nil {
			ch <- prometheus.MustNewConstMetric(processReceiveDesc, prometheus.CounterValue, in)
			ch <- prometheus.MustNewConstMetric(processTransmitDesc, prometheus.CounterValue, out)
		}
	}
}

// readProcFile reads a whole /proc file into buf and returns the part read.
// A file that fills buf is refused rather than silently cut.
func readProcFile(path string, buf []byte) ([]byte, error) {
	fd, err := ignoringEINTR(func() (int, error) { return syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0) })
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer syscall.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := ignoringEINTR(func() (int, error) { return syscall.Read(fd, buf[n:]) })
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if m == 0 {
			return buf[:n], nil
		}
		n += m
	}
	return nil, fmt.Errorf("read %s: longer than %d bytes", path, len(buf))
}

// countOpenFDs counts the process's open descriptors as procfs does for
// client_golang: since Linux 6.2 the size of /proc/self/fd is that count;
// before, the directory is read, and the descriptor used to read it counts.
func countOpenFDs(buf []byte) (int, error) {
	const dir = "/proc/self/fd"
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err == nil && st.Size > 0 {
		return int(st.Size), nil
	}
	fd, err := ignoringEINTR(func() (int, error) {
		return syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dir, err)
	}
	defer syscall.Close(fd)
	count := 0
	for {
		n, err := ignoringEINTR(func() (int, error) { return syscall.Getdents(fd, buf) })
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", dir, err)
		}
		if n <= 0 {
			return count, nil
		}
		entries, err := countDirents(buf[:n])
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", dir, err)
		}
		count += entries
	}
}

// countDirents counts the linux_dirent64 records in b other than "." and "..",
// without making a string of each name.
func countDirents(b []byte) (int, error) {
	const nameOffset = 19 // d_ino (8), d_off (8), d_reclen (2), d_type (1)
	count := 0
	for len(b) > 0 {
		if len(b) < nameOffset {
			return 0, fmt.Errorf("dirent of %d bytes", len(b))
		}
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < nameOffset || reclen > len(b) {
			return 0, fmt.Errorf("dirent length %d of %d bytes left", reclen, len(b))
		}
		name := b[nameOffset:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if !bytes.Equal(name, []byte(".")) && !bytes.Equal(name, []byte("..")) {
			count++
		}
		b = b[reclen:]
	}
	return count, nil
}

// parseStatm returns the first two fields of /proc/self/statm: the virtual
// and the resident size, in pages.
func parseStatm(b []byte) (size, resident uint64, err error) {
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0, 0, fmt.Errorf("/proc/self/statm: %d fields in %q, want 7", len(fields), b)
	}
	if size, err = strconv.ParseUint(string(fields[0]), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("/proc/self/statm: size %q: %w", fields[0], err)
	}
	if resident, err = strconv.ParseUint(string(fields[1]), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("/proc/self/statm: resident %q: %w", fields[1], err)
	}
	return size, resident, nil
}

// parseIPOctets returns InOctets and OutOctets from the IpExt header and value
// lines of /proc/self/net/netstat. The columns are found by name: their order
// is the kernel's to change.
func parseIPOctets(b []byte) (in, out float64, err error) {
	header, values, ok := findNetstatSection(b, "IpExt:")
	if !ok {
		return 0, 0, errors.New("/proc/self/net/netstat: no IpExt lines")
	}
	names, nums := bytes.Fields(header), bytes.Fields(values)
	if len(names) != len(nums) {
		return 0, 0, fmt.Errorf("/proc/self/net/netstat: IpExt has %d names and %d values", len(names), len(nums))
	}
	found := 0
	for i, name := range names {
		var dst *float64
		switch string(name) {
		case "InOctets":
			dst = &in
		case "OutOctets":
			dst = &out
		default:
			continue
		}
		v, err := strconv.ParseUint(string(nums[i]), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/self/net/netstat: IpExt %s %q: %w", name, nums[i], err)
		}
		*dst = float64(v)
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("/proc/self/net/netstat: IpExt without InOctets and OutOctets")
	}
	return in, out, nil
}

// findNetstatSection returns the two lines that start with prefix: first the
// names, then the values.
func findNetstatSection(b []byte, prefix string) (header, values []byte, ok bool) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		if bytes.HasPrefix(line, []byte(prefix)) {
			next, _, _ := bytes.Cut(b, []byte("\n"))
			if !bytes.HasPrefix(next, []byte(prefix)) {
				return nil, nil, false
			}
			return line, next, true
		}
	}
	return nil, nil, false
}

// processStartTime is the boot time (see bootTime) plus the process's start,
// in clock ticks after boot, from /proc/self/stat, read once. client_golang
// re-reads the boot time on every scrape, so its value moves by as much as
// the wall clock is stepped (an NTP correction); this one stays as it was
// at start-up, as a start time should.
func processStartTime(systemStat string) (float64, error) {
	buf := make([]byte, 64<<10)
	stat, err := readProcFile("/proc/self/stat", buf)
	if err != nil {
		return 0, err
	}
	ticks, err := parseStartTicks(stat)
	if err != nil {
		return 0, err
	}
	boot, err := bootTime(systemStat, buf)
	if err != nil {
		return 0, err
	}
	// Linux reports these ticks in USER_HZ, 100 on every architecture Go
	// supports (the kernel converts from its internal HZ).
	return float64(boot) + float64(ticks)/100, nil
}

// bootTime returns when the system booted, in Unix seconds: the btime line
// of /proc/stat or, where only the process's own /proc entries are visible
// (systemd's ProcSubset=pid, as in examples/systemd), the uptime's start.
// Both are whole seconds; they may differ by one.
func bootTime(systemStat string, buf []byte) (uint64, error) {
	system, err := readProcFile(systemStat, buf)
	if err == nil {
		return parseBootTime(system)
	}
	var info syscall.Sysinfo_t
	if syscall.Sysinfo(&info) != nil || info.Uptime < 0 {
		return 0, err
	}
	return uint64(time.Now().Unix() - int64(info.Uptime)), nil
}

// parseStartTicks returns field 22 of /proc/self/stat, the start time. The
// command (field 2) is in parentheses and may hold spaces and parentheses,
// so fields are counted from the last ')'.
func parseStartTicks(b []byte) (uint64, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc/self/stat: no ')' in %q", b)
	}
	fields := bytes.Fields(b[end+1:]) // fields[0] is field 3, the state
	const startField = 22 - 3
	if len(fields) <= startField {
		return 0, fmt.Errorf("/proc/self/stat: %d fields after the command, want at least %d", len(fields), startField+1)
	}
	ticks, err := strconv.ParseUint(string(fields[startField]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/stat: start time %q: %w", fields[startField], err)
	}
	return ticks, nil
}

// parseBootTime returns the btime line of /proc/stat, in Unix seconds.
func parseBootTime(b []byte) (uint64, error) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			boot, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat: btime %q: %w", v, err)
			}
			return boot, nil
		}
	}
	return 0, errors.New("/proc/stat: no btime line")
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
