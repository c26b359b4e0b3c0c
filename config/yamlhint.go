package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yaml's indentation errors name the line where its parser gave up, which
// for a misindented key is often the line that opened the block. The line
// that broke the file is the first one whose addition makes the file
// unreadable: yaml's own parser, asked about ever longer beginnings of the
// file, finds it. The hint never quotes the file.

var (
	indentationErrorRE = regexp.MustCompile(`expected key|expected '-' indicator|are not allowed in this context|cannot start any token`)
	// A beginning of a file may end inside a value that goes on below.
	unfinishedRE = regexp.MustCompile(`end of stream|expected node content|expected ',' or`)
)

// withYAMLHint returns err with the line that broke the file, when it is
// an indentation error; otherwise err itself.
func withYAMLHint(data []byte, err error) error {
	if !indentationErrorRE.MatchString(err.Error()) {
		return err
	}
	lines := strings.SplitAfter(string(data), "\n")
	bad := firstUnreadableLine(lines)
	if bad < 0 {
		return err
	}
	line := lines[bad]
	if strings.Contains(line[:len(line)-len(strings.TrimLeft(line, " \t"))], "\t") {
		return fmt.Errorf("%w; YAML indents with spaces; line %d has a tab", err, bad+1)
	}
	return fmt.Errorf("%w; line %d: is the key indented under the right parent? (the lines above it read as YAML)", err, bad+1)
}

// firstUnreadableLine returns the index of the line that makes the lines
// before it, read with it, no longer YAML; -1 if there is none.
func firstUnreadableLine(lines []string) int {
	bad := sort.Search(len(lines), func(i int) bool {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(lines[:i+1], "")), &n)
		return err != nil && !unfinishedRE.MatchString(err.Error())
	})
	if bad == len(lines) {
		return -1
	}
	return bad
}
