package charttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The configuration each case renders is one the exporter accepts: its
// own --config.check, with the Secret's mount point moved to a temporary
// directory holding a file for every *_file the configuration names.
func TestRenderedConfigurationPassesConfigCheck(t *testing.T) {
	exporter := os.Getenv("EXPORTER")
	if exporter == "" {
		t.Fatal("EXPORTER is not set: run make chart-test, which builds the exporter")
	}
	const mount = "/etc/utmstack_exporter/secret/"
	fileKey := regexp.MustCompile(`_file:\s*(\S+?)[\s},]`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objects := render(t, c)
			name, _, _ := podSpec(t, objects)
			config := find[corev1.ConfigMap](t, objects, "ConfigMap", name).Data["utmstack.yml"]
			dir := t.TempDir()
			secrets := filepath.Join(dir, "secret") + "/"
			if err := os.Mkdir(secrets, 0o700); err != nil {
				t.Fatal(err)
			}
			files := 0
			for _, m := range fileKey.FindAllStringSubmatch(config, -1) {
				file, ok := strings.CutPrefix(m[1], mount)
				if !ok {
					t.Errorf("%s is not under the Secret's mount %s", m[1], mount)
					continue
				}
				if err := os.WriteFile(secrets+file, []byte("not-a-real-secret\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				files++
			}
			if files == 0 {
				t.Fatal("the configuration names no credential file")
			}
			path := filepath.Join(dir, "utmstack.yml")
			if err := os.WriteFile(path, []byte(strings.ReplaceAll(config, mount, secrets)), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exporter, "--config.check", "--config.file="+path)
			cmd.Env = []string{} // no UTMSTACK_* from the environment
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("--config.check: %v\n%s", err, out)
			}
		})
	}
}
