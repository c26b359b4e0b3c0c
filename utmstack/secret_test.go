package utmstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "hunter2-very-secret"
	s := Secret(value)
	if s.Reveal() != value {
		t.Fatalf("Reveal() = %q, want the value", s.Reveal())
	}
	type holder struct {
		Password Secret `json:"password" yaml:"password"`
	}
	h := holder{Password: s}

	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("login", "password", s, "holder", h)
	jsonOut, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	yamlOut, err := yaml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string]string{
		"%s":   fmt.Sprintf("%s", s), //nolint:staticcheck // S1025: the test is of what %s formats
		"%v":   fmt.Sprintf("%v", s),
		"%+v":  fmt.Sprintf("%+v", h),
		"%#v":  fmt.Sprintf("%#v", s),
		"%q":   fmt.Sprintf("%q", s),
		"slog": logged.String(),
		"json": string(jsonOut),
		"yaml": string(yamlOut),
	}
	for name, out := range forms {
		if strings.Contains(out, value) {
			t.Errorf("%s form leaks the secret: %s", name, out)
		}
		// JSON escapes the angle brackets, so look for the word alone.
		if !strings.Contains(out, "secret") {
			t.Errorf("%s form = %q, want it to say <secret>", name, out)
		}
	}
}
