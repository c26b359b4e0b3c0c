package utmstack

import "strings"

// parsePlainCounts reads the shape UTMStack actually sends,
// {"key":123,...}, with keys of printable ASCII without escapes and counts
// of plain digits, in one pass and a handful of allocations whatever the
// number of buckets: the keys are substrings of one copy of the body. It
// reports ok=false for anything else (escapes, non-ASCII keys, fractions,
// exponents, duplicate keys, errors), which encoding/json then reads, so
// odd answers are judged and worded exactly as before.
func parsePlainCounts(body []byte) (counts map[string]int64, ok bool) {
	s := string(body)
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	// The hint is capped: a large odd body full of colons must not size a
	// huge map before its shape is checked. 500 is the most buckets asked.
	counts = make(map[string]int64, min(strings.Count(s, ":"), 512))
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return counts, skipSpace(s, i+1) == len(s)
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return nil, false
		}
		end := i + 1
		for ; end < len(s) && s[end] != '"'; end++ {
			if c := s[end]; c < 0x20 || c > 0x7e || c == '\\' {
				return nil, false
			}
		}
		if end >= len(s) {
			return nil, false
		}
		key := s[i+1 : end]
		i = skipSpace(s, end+1)
		if i >= len(s) || s[i] != ':' {
			return nil, false
		}
		i = skipSpace(s, i+1)
		start := i
		var n int64
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			n = n*10 + int64(s[i]-'0')
		}
		// 18 digits cannot overflow int64; a leading zero is not JSON.
		if digits := i - start; digits == 0 || digits > 18 || (digits > 1 && s[start] == '0') {
			return nil, false
		}
		if _, dup := counts[key]; dup {
			return nil, false
		}
		counts[key] = n
		i = skipSpace(s, i)
		switch {
		case i < len(s) && s[i] == ',':
			i = skipSpace(s, i+1)
		case i < len(s) && s[i] == '}':
			return counts, skipSpace(s, i+1) == len(s)
		default:
			return nil, false
		}
	}
}

// skipSpace skips JSON whitespace from i.
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
