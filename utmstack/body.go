package utmstack

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// DefaultMaxBodyBytes bounds every response body the client reads. A
// values-with-count answer with 300 buckets is a few kilobytes.
const DefaultMaxBodyBytes = 4 << 20

// readBody reads at most limit bytes and fails when the body is larger, so a
// misbehaving proxy cannot make the exporter buffer gigabytes.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("body larger than the %d-byte limit", limit)
	}
	return body, nil
}

// describeBody names the kind of a body without repeating its content: used
// where the body could hold a token.
func describeBody(body []byte) string {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return "an empty body"
	case trimmed[0] == '<':
		return fmt.Sprintf("an HTML/XML page (%d bytes)", len(body))
	case trimmed[0] == '{':
		return fmt.Sprintf("a JSON object of another shape (%d bytes)", len(body))
	case trimmed[0] == '[':
		return fmt.Sprintf("a JSON array (%d bytes)", len(body))
	}
	return fmt.Sprintf("%d bytes that are not a JSON object", len(body))
}

// snippet quotes the start of a body for error messages about data answers,
// which hold no credentials: enough to recognise an HTML error page.
func snippet(body []byte) string {
	const max = 80
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return "an empty body"
	}
	cut := trimmed
	if len(cut) > max {
		cut = cut[:max]
		for len(cut) > 0 && !utf8.Valid(cut) {
			cut = cut[:len(cut)-1]
		}
	}
	s := strconv.Quote(string(cut))
	if len(trimmed) > max {
		s += "…"
	}
	return fmt.Sprintf("%d bytes starting %s", len(body), s)
}
