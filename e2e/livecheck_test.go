//go:build e2e

package e2e

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/tools/demo/living"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// liveCheck runs the binary's --config.check.live and returns its output
// and exit code.
func liveCheck(t *testing.T, file string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exporterBinary(t), "--config.check.live", "--config.file="+file)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("--config.check.live: %v", err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// The exit codes a deployment script reads: 0 all answered, 1 invalid, 2 a
// live problem; and no secret in what it prints.
func TestLiveCheckExitCodes(t *testing.T) {
	fake := utmstacktest.New(utmstacktest.Options{Users: map[string]string{upstreamUser: upstreamPassword},
		Alerts: living.Alerts(time.Now(), 200, 1)})
	upstream := httptest.NewServer(fake)
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	config := func(name, password string) string {
		return writeFile(t, dir, name, "utmstack:\n  url: "+upstream.URL+"\n  auth:\n    username: "+upstreamUser+"\n    password_file: "+
			writeFile(t, dir, name+".password", password+"\n")+"\n")
	}
	for _, tc := range []struct {
		name, file, want string
		code             int
	}{
		{"healthy", config("good.yml", upstreamPassword), "no problem found", 0},
		{"refused", config("wrong.yml", "not-the-e2e-password"), "PROBLEM: UTMStack refused the credentials", 2},
		{"invalid", writeFile(t, dir, "bad.yml", "utmstack: {url: ftp://x}\n"), "INVALID", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := liveCheck(t, tc.file)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, out)
			}
			for _, secret := range []string{upstreamPassword, "not-the-e2e-password"} {
				if strings.Contains(out, secret) {
					t.Fatalf("the output holds a password:\n%s", out)
				}
			}
		})
	}
	if n := len(fake.LoginAttempts()); n != 2 {
		t.Fatalf("%d logins for two live checks, want 2", n)
	}
}
