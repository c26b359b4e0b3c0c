package utmstack

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultMaxBodyBytes bounds every response body the client reads. A
// values-with-count answer with 300 buckets is a few kilobytes.
const DefaultMaxBodyBytes = 4 << 20

// readBody reads at most limit bytes and fails when the body is larger, so a
// misbehaving proxy cannot make the exporter buffer gigabytes. size is the
// announced Content-Length (-1: unknown): a body that announces its size
// is read into one buffer of that size rather than a growing one.
func readBody(r io.Reader, limit, size int64) ([]byte, error) {
	if size > limit {
		return nil, errBodyLimit(limit)
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size) + bytes.MinRead) // room for the read that finds the end
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if int64(buf.Len()) > limit {
		return nil, errBodyLimit(limit)
	}
	return buf.Bytes(), nil
}

// errBodyLimit is a body that was whole but too large, as opposed to one
// that broke off.
type errBodyLimit int64

func (e errBodyLimit) Error() string {
	return fmt.Sprintf("body larger than the %d-byte limit", int64(e))
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

// jwtPattern matches a JWT or any piece of one from its start: the header
// {"alg":...} always encodes to "eyJ".
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*){0,2}`)

// scrub blanks out what must never be quoted from an answer: the
// configured credentials, in every form the client itself sends them
// (secretForms), and anything shaped like a JWT. An error page or a proxy
// that echoes the request would otherwise carry them into the log.
func (c *Client) scrub(body []byte) []byte {
	out := jwtPattern.ReplaceAllLiteral(body, []byte(redacted))
	for _, s := range c.secrets {
		out = bytes.ReplaceAll(out, []byte(s), []byte(redacted))
	}
	return out
}

func (c *Client) scrubText(s string) string { return string(c.scrub([]byte(s))) }

// maxQuotedHeader bounds what an error quotes of a header such as
// X-UtmStack-error: an answer can carry megabytes there, and each error
// is logged.
const maxQuotedHeader = 512

// quoteHeader is a header value fit for an error message: scrubbed, then
// cut to maxQuotedHeader bytes, marked as cut. Scrubbing first: a cut
// could leave the start of a secret that no longer matches.
func (c *Client) quoteHeader(v string) string {
	s := c.scrubText(v)
	cut, wasCut := cutText(s, maxQuotedHeader)
	if !wasCut {
		return s
	}
	return fmt.Sprintf("%s… (cut, %d bytes in all)", cut, len(s))
}

// cutText is s cut to at most max bytes on a rune boundary, and whether
// anything was cut: what every quote of an answer uses, so none splits a
// character.
func cutText(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	end := max
	// A rune is at most UTFMax bytes: back up no further than that, also
	// in bytes that are not UTF-8 at all.
	for i := 1; i < utf8.UTFMax && end > 0 && !utf8.RuneStart(s[end]); i++ {
		end--
	}
	return s[:end], true
}

// secretForms lists each credential as the client sends it, and as a
// server or proxy could echo it back: the value itself, JSON-escaped as in
// the login body (json.Marshal writes <, > and & as \u003c...), URL-encoded,
// and for the proxy's user info the Basic header it becomes.
func secretForms(secret string, proxy *url.URL) []string {
	var forms []string
	add := func(s string) {
		if s != "" && !slices.Contains(forms, s) {
			forms = append(forms, s)
		}
	}
	addForms := func(s string) {
		if s == "" {
			return
		}
		add(s)
		if q, err := json.Marshal(s); err == nil {
			add(string(q[1 : len(q)-1]))
		}
		var plain bytes.Buffer
		enc := json.NewEncoder(&plain)
		enc.SetEscapeHTML(false)
		if enc.Encode(s) == nil {
			add(strings.TrimSuffix(strings.TrimSpace(plain.String()), `"`)[1:])
		}
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
	}
	addForms(secret)
	if proxy != nil && proxy.User != nil {
		user := proxy.User.Username()
		password, _ := proxy.User.Password()
		addForms(password)
		add(base64.StdEncoding.EncodeToString([]byte(user + ":" + password)))
		add(proxy.User.String())
	}
	// Longest first: a form that contains another is blanked whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return forms
}

// snippet quotes the start of a body for error messages: enough to
// recognise an HTML error page. Give it a scrubbed body (Client.scrub): a
// server or proxy may echo a credential in any answer.
func snippet(body []byte) string {
	const max = 80
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return "an empty body"
	}
	cut, wasCut := cutText(string(trimmed), max)
	s := strconv.Quote(cut)
	if wasCut {
		s += "…"
	}
	return fmt.Sprintf("%d bytes starting %s", len(body), s)
}

// isSpringError tells whether body is Spring Boot's default error JSON,
// {"timestamp","status","error","path"} (other attributes allowed), for
// this status: what UTMStack itself renders for an exception that escapes
// its filters, as opposed to a proxy's error page.
func isSpringError(body []byte, status int) bool {
	var e struct {
		Timestamp json.RawMessage `json:"timestamp"`
		Status    *int            `json:"status"`
		Error     *string         `json:"error"`
		Path      *string         `json:"path"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	return len(e.Timestamp) > 0 && string(e.Timestamp) != "null" &&
		e.Status != nil && *e.Status == status && e.Error != nil && e.Path != nil
}
