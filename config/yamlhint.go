package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	indentationErrorRE = regexp.MustCompile(`expected key|expected '-' indicator|not allowed in this context|cannot start any token`)
	unfinishedRE       = regexp.MustCompile(`end of stream|expected node content|expected ',' or`)
)

// withYAMLHint adds to an indentation error the line that broke the file:
// yaml names the line where it gave up, for a misindented key often the
// one that opened the block. The hint never quotes the file.
func withYAMLHint(data []byte, err error) error {
	if !indentationErrorRE.MatchString(err.Error()) {
		return err
	}
	lines := strings.SplitAfter(string(data), "\n")
	bad := firstUnreadableLine(lines)
	if bad < 0 {
		return err
	}
	if indent := lines[bad][:len(lines[bad])-len(strings.TrimLeft(lines[bad], " \t"))]; strings.Contains(indent, "\t") {
		return fmt.Errorf("%w; YAML indents with spaces; line %d has a tab", err, bad+1)
	}
	return fmt.Errorf("%w; line %d: is the key indented under the right parent? (the lines above it read as YAML)", err, bad+1)
}

// firstUnreadableLine is the index of the first line that the lines before
// it cannot be read with, as yaml's own parser judges; -1 for none. The
// lines before it may end inside a value that goes on below.
func firstUnreadableLine(lines []string) int {
	bad := sort.Search(len(lines), func(i int) bool {
		err := yaml.Unmarshal([]byte(strings.Join(lines[:i+1], "")), new(yaml.Node))
		return err != nil && !unfinishedRE.MatchString(err.Error())
	})
	if bad == len(lines) {
		return -1
	}
	return bad
}
