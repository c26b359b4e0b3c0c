package utmstack

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestRefusedCountsNeverQuoteASecretAfterTheDeadline: an answer that
// echoes the credential where a key should be is refused without quoting
// it, also when the scrape's time is already up and the answer is not
// read a second time.
func TestRefusedCountsNeverQuoteASecretAfterTheDeadline(t *testing.T) {
	const secret = "k3y-0123456789abcdefghij"
	base, _ := url.Parse("http://127.0.0.1:9")
	c, err := New(Options{URL: base, Credentials: Credentials{Method: AuthAPIKey, Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"` + secret + `": "many"}`)
	_, parseErr := parseCounts(body, 10)
	if parseErr == nil || !strings.Contains(parseErr.Error(), secret[:20]) {
		t.Fatalf("parseCounts: %v, want an error quoting the key (what must not go out)", parseErr)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for name, ctx := range map[string]context.Context{"in time": context.Background(), "after the deadline": ended} {
		msg := c.countsError(ctx, body, 10, parseErr).Error()
		if strings.Contains(msg, secret[:8]) {
			t.Errorf("%s: %q quotes the key", name, msg)
		}
		if !strings.Contains(msg, "expected") {
			t.Errorf("%s: %q does not say what was expected", name, msg)
		}
	}
}

// TestQuotesAreCutOnARuneBoundary: every quote of an answer is cut
// between characters, never inside one.
func TestQuotesAreCutOnARuneBoundary(t *testing.T) {
	key := strings.Repeat("a", 39) + "é" // é spans bytes 40 and 41
	if got := truncateKey(key); !utf8.ValidString(got) || got != strings.Repeat("a", 39)+"…" {
		t.Errorf("truncateKey = %q, want the 39 a's and the cut mark", got)
	}
	body := []byte(strings.Repeat("b", 79) + "€€")
	if got := snippet(body); !utf8.ValidString(got) || !strings.Contains(got, `"`+strings.Repeat("b", 79)+`"…`) {
		t.Errorf("snippet = %q, want the 79 b's and the cut mark", got)
	}
	c := &Client{}
	header := strings.Repeat("h", maxQuotedHeader-1) + "日本"
	if got := c.quoteHeader(header); !utf8.ValidString(got) || !strings.HasPrefix(got, strings.Repeat("h", maxQuotedHeader-1)+"…") {
		t.Errorf("quoteHeader = %q, want the h's and the cut mark", got)
	}
}
