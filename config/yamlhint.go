package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// yaml's syntax errors name the line where its parser gave up, which for a
// misindented key is often the line that opened the block, and say nothing
// of the cause. withYAMLHint adds what a person can act on: the line with a
// tab in its indentation, or the key indented to a level no key above it
// has. It only reads the file's text; the hint never quotes a value.

var yamlErrorRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// withYAMLHint returns err with a hint appended when the file shows why
// yaml failed; otherwise err itself.
func withYAMLHint(data []byte, err error) error {
	m := yamlErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	reported, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(data), "\n")
	msg := m[2]
	switch {
	case strings.Contains(msg, "tab character"), strings.Contains(msg, "cannot start any token"):
		if n := tabIndentedLine(lines, reported); n > 0 {
			return fmt.Errorf("%w; YAML indents with spaces; line %d has a tab", err, n)
		}
	case strings.Contains(msg, "did not find expected"), strings.Contains(msg, "mapping values are not allowed"):
		if hint := misindentedLine(lines); hint != "" {
			return fmt.Errorf("%w; %s", err, hint)
		}
	}
	return err
}

// tabIndentedLine returns the 1-based number of a line whose indentation
// holds a tab, the reported one if it does, else the first; 0 for none.
func tabIndentedLine(lines []string, reported int) int {
	hasTab := func(l string) bool {
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		return strings.Contains(indent, "\t")
	}
	if reported >= 1 && reported <= len(lines) && hasTab(lines[reported-1]) {
		return reported
	}
	for i, l := range lines {
		if hasTab(l) {
			return i + 1
		}
	}
	return 0
}

// indentLevel is a column where keys (or, for dash, list items) of one
// open block start.
type indentLevel struct {
	col  int
	dash bool
}

const indentQuestion = "line %d: is the key indented under the right parent? "

// misindentedLine follows the file's block structure by indentation alone
// and describes the first key that fits no open block: deeper than the key
// before it although that key has a value, or back out to a column where
// no enclosing block's keys start. Lines that are no key (the rest of a
// long value) are passed over; a flow collection or quoted value that
// spans lines ends the search without a hint.
func misindentedLine(lines []string) string {
	var stack []indentLevel
	prevCol, prevLine := -1, 0 // the previous key's column and line
	opens := false             // the previous key has no value: a block may follow
	scalarCol := -1            // inside the | or > value of the key at this column
	for i, raw := range lines {
		line := strings.TrimRight(raw, " \t\r")
		content := strings.TrimLeft(line, " ")
		col := len(line) - len(content)
		if content == "" || strings.HasPrefix(content, "#") || content == "---" || content == "..." {
			continue
		}
		if scalarCol >= 0 {
			if col > scalarCol {
				continue
			}
			scalarCol = -1
		}
		if strings.HasPrefix(content, "\t") || unbalanced(content) {
			return ""
		}
		dash := content == "-" || strings.HasPrefix(content, "- ")
		if !dash && !strings.Contains(stripComment(content), ":") {
			continue
		}
		levels := columns(stack)
		for len(stack) > 0 && stack[len(stack)-1].col > col {
			stack = stack[:len(stack)-1]
		}
		closedList := false
		if n := len(stack); n > 0 && stack[n-1].col == col && stack[n-1].dash && !dash {
			stack, closedList = stack[:n-1], true // a key at a list's column closes the list
		}
		switch n := len(stack); {
		case n == 0:
			stack = append(stack, indentLevel{col: col, dash: dash})
		case stack[n-1].col < col:
			switch {
			case closedList:
				return fmt.Sprintf(indentQuestion+"(indented %d spaces like the list items above it, but it is no \"- \" item)", i+1, col)
			case col > prevCol && !opens:
				return fmt.Sprintf(indentQuestion+"(indented %d spaces, deeper than line %d, whose key already has a value)", i+1, col, prevLine)
			case col <= prevCol:
				return fmt.Sprintf(indentQuestion+"(indented %d spaces; the keys above it are indented %s)", i+1, col, levels)
			}
			stack = append(stack, indentLevel{col: col, dash: dash})
		case dash && !stack[n-1].dash:
			// A list may start at its key's own column.
			if !opens || prevCol != col {
				return fmt.Sprintf(indentQuestion+"(a list item indented %d spaces, where the keys above it are)", i+1, col)
			}
			stack = append(stack, indentLevel{col: col, dash: true})
		}
		keyCol, body := col, content
		if dash {
			// The item's own key sets the column of its siblings.
			rest := strings.TrimLeft(strings.TrimPrefix(content, "-"), " ")
			if rest != "" {
				keyCol, body = col+len(content)-len(rest), rest
				stack = append(stack, indentLevel{col: keyCol})
			}
		}
		key, value, isKey := strings.Cut(stripComment(body), ":")
		value = strings.TrimSpace(value)
		opens = body == "-" || isKey && key != "" && (value == "" || strings.HasPrefix(value, "&") && !strings.Contains(value, " "))
		if isKey && (strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">")) {
			scalarCol = keyCol
		}
		prevCol, prevLine = keyCol, i+1
	}
	return ""
}

// stripComment drops a # comment that follows white space.
func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		return s[:i]
	}
	return s
}

// unbalanced reports a flow collection or a double-quoted value that goes
// on past the end of the line.
func unbalanced(s string) bool {
	s = stripComment(s)
	return strings.Count(s, "[") != strings.Count(s, "]") ||
		strings.Count(s, "{") != strings.Count(s, "}") ||
		strings.Count(s, `"`)%2 == 1
}

// columns lists the distinct columns of the open blocks: "0, 2 or 4".
func columns(stack []indentLevel) string {
	var cols []string
	for i, l := range stack {
		if i == 0 || l.col != stack[i-1].col {
			cols = append(cols, strconv.Itoa(l.col))
		}
	}
	switch len(cols) {
	case 0:
		return "0"
	case 1:
		return cols[0]
	}
	return strings.Join(cols[:len(cols)-1], ", ") + " or " + cols[len(cols)-1]
}
