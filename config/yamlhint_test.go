package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Real files with the mistakes people make by hand: yaml's own message
// points at the wrong line or names no cause; the hint names both.
func TestYAMLSyntaxErrorsGetAHint(t *testing.T) {
	for file, want := range map[string]string{
		"testdata/tab-indent.yml":       "yaml: line 4: found character that cannot start any token; YAML indents with spaces; line 4 has a tab",
		"testdata/misindented-key.yml":  "yaml: line 1: did not find expected key; line 5: is the key indented under the right parent? (the lines above it read as YAML)",
		"testdata/overindented-key.yml": "yaml: line 4: mapping values are not allowed in this context; line 4: is the key indented under the right parent? (the lines above it read as YAML)",
		"testdata/misindented-list.yml": `yaml: line 4: did not find expected '-' indicator; line 8: is the key indented under the right parent? (the lines above it read as YAML)`,
	} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file, nil)
			if err == nil {
				t.Fatal("loaded")
			}
			if got := err.Error(); got != file+": "+want {
				t.Errorf("error:\n%s\nwant:\n%s: %s", got, file, want)
			}
		})
	}
}

// The hint is only a guess from indentation: on every well-formed file the
// project ships it must find nothing.
func TestYAMLHintSilentOnValidFiles(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.yml")
	for _, pattern := range []string{"../examples/*/*.yml", "../examples/*/*.yaml", "testdata/*.yml"} {
		more, _ := filepath.Glob(pattern)
		files = append(files, more...)
	}
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f, "indent") {
			continue // the bad files above
		}
		checked++
		if n := firstUnreadableLine(strings.SplitAfter(string(data), "\n")); n >= 0 {
			t.Errorf("%s: line %d is said to break the file", f, n+1)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d files checked", checked)
	}
}
