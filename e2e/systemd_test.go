//go:build e2e

package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// procMountOptions are the /proc mount options the shipped unit's
// ProtectProc= and ProcSubset= settings make systemd use.
func procMountOptions(unit string) []string {
	var opts []string
	for line := range strings.SplitSeq(unit, "\n") {
		switch strings.TrimSpace(line) {
		case "ProtectProc=invisible":
			opts = append(opts, "hidepid=invisible")
		case "ProcSubset=pid":
			opts = append(opts, "subset=pid")
		}
	}
	return opts
}

// Under the shipped systemd unit's /proc, client_golang's process collector
// still finds the boot time in /proc/stat, so process_start_time_seconds is
// exported. (ProcSubset=pid would hide /proc/stat: the unit leaves it out.)
func TestShippedSystemdUnitKeepsProcessStartTime(t *testing.T) {
	unit, err := os.ReadFile("../examples/systemd/utmstack_exporter.service")
	if err != nil {
		t.Fatal(err)
	}
	opts := procMountOptions(string(unit))
	if len(opts) == 0 {
		t.Fatal("the unit no longer sets ProtectProc=invisible")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting /proc as systemd does needs root")
	}
	unshare := requireTool(t, "unshare")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "utmstack.yml", "utmstack:\n  url: http://127.0.0.1:1\n  auth: {internal_key: unused-key}\n")
	port := freePort(t)
	// A private mount namespace with /proc mounted as the unit's, then the
	// exporter in it.
	script := `mount -t proc -o ` + strings.Join(opts, ",") + ` proc /proc && exec "$0" "$@"`
	p := start(t, unshare, []string{"--mount", "--propagation", "private", "sh", "-c", script,
		exporterBinary(t), "--config.file=" + cfg, "--web.listen-address=" + port}, nil)
	p.waitFor(deadline(t, 30*time.Second), t, regexp.MustCompile(`Listening on`))

	status, body := plainRequest(t, "GET", "http://"+port+"/metrics")
	if status != 200 {
		t.Fatalf("/metrics answered %d:\n%s", status, body)
	}
	for _, name := range []string{"process_start_time_seconds ", "process_cpu_seconds_total ", "process_open_fds "} {
		if !strings.Contains(body, "\n"+name) {
			t.Errorf("with /proc mounted %s, /metrics lacks %s", strings.Join(opts, ","), name)
		}
	}
}
