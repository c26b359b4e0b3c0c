package charttest

import (
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The release tarball carries what a user installs beside the binary: the
// rules with their runbook, the Alertmanager example, the dashboard and the
// chart. promu copies each entry to the tarball's top, so two entries must
// not share a base name.
func TestReleaseTarballCarriesTheArtefacts(t *testing.T) {
	promu := readPromu(t)
	seen := map[string]string{}
	for _, file := range promu.Tarball.Files {
		if _, err := os.Stat("../../" + file); err != nil {
			t.Errorf("tarball entry %s: %v", file, err)
		}
		base := path.Base(file)
		if other, ok := seen[base]; ok {
			t.Errorf("tarball entries %s and %s both become %s", other, file, base)
		}
		seen[base] = file
	}
	for _, want := range []string{
		"LICENSE", "RUNBOOK.md", "examples/utmstack.yml",
		"examples/prometheus/alerts.yml", "examples/alertmanager/alertmanager.yml",
		"examples/grafana/utmstack.json", "charts/utmstack-exporter",
	} {
		if !slices.Contains(promu.Tarball.Files, want) {
			t.Errorf("the tarball lacks %s", want)
		}
	}
}

// Release and local builds keep their symbol table: scanners such as
// govulncheck read it to see which functions are linked in.
func TestBuildsKeepTheSymbolTable(t *testing.T) {
	strip := regexp.MustCompile(`(^|\s)-[sw](\s|$)`)
	if promu := readPromu(t); strip.MatchString(promu.Build.LDFlags) {
		t.Errorf(".promu.yml ldflags strip the binary: %q", promu.Build.LDFlags)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(makefile), "\n") {
		if strings.Contains(line, "LDFLAGS") && strip.MatchString(line) {
			t.Errorf("the Makefile strips the binary: %s", line)
		}
	}
}

type promuConfig struct {
	Build struct {
		LDFlags string `json:"ldflags"`
	} `json:"build"`
	Tarball struct {
		Files []string `json:"files"`
	} `json:"tarball"`
}

func readPromu(t *testing.T) promuConfig {
	t.Helper()
	data, err := os.ReadFile("../../.promu.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg promuConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Tarball.Files) == 0 || cfg.Build.LDFlags == "" {
		t.Fatal(".promu.yml has no tarball files or no ldflags")
	}
	return cfg
}
