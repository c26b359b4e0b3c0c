package utmstacktest

import (
	"testing"
	"time"
)

func TestDateMath(t *testing.T) {
	now := time.Date(2025, 11, 26, 12, 34, 56, 789_000_000, time.UTC) // a Wednesday
	for _, tc := range []struct {
		expr    string
		roundUp bool
		want    string
	}{
		{"now", false, "2025-11-26T12:34:56.789Z"},
		{"now-24h", false, "2025-11-25T12:34:56.789Z"},
		{"now-7d", false, "2025-11-19T12:34:56.789Z"},
		{"now-15m/m", false, "2025-11-26T12:19:00.000Z"},
		{"now-15m/m", true, "2025-11-26T12:19:59.999Z"},
		{"now/d", false, "2025-11-26T00:00:00.000Z"},
		{"now/d", true, "2025-11-26T23:59:59.999Z"},
		{"now/w", false, "2025-11-24T00:00:00.000Z"},
		{"now/M", false, "2025-11-01T00:00:00.000Z"},
		{"now/y", false, "2025-01-01T00:00:00.000Z"},
		{"now-1y", false, "2024-11-26T12:34:56.789Z"},
		{"now+1M", false, "2025-12-26T12:34:56.789Z"},
		{"now-2H", false, "2025-11-26T10:34:56.789Z"},
		{"now-30s", false, "2025-11-26T12:34:26.789Z"},
		{"now-1w", false, "2025-11-19T12:34:56.789Z"},
		{"now+d", false, "2025-11-27T12:34:56.789Z"},
		{"now-1d/d+1h", false, "2025-11-25T01:00:00.000Z"},
		{"2025-01-31||+1M", false, "2025-02-28T00:00:00.000Z"},
		{"2025-01-01", false, "2025-01-01T00:00:00.000Z"},
		{"2025-01-01", true, "2025-01-01T23:59:59.999Z"},
		{"2025-01", true, "2025-01-31T23:59:59.999Z"},
		{"2025-01-01T10:00:00Z", false, "2025-01-01T10:00:00.000Z"},
		{"2025-01-01T10:00:00+02:00", false, "2025-01-01T08:00:00.000Z"},
		{"2025-01-01T10:00:00.5Z", true, "2025-01-01T10:00:00.500Z"},
		{"1764160496789", false, "2025-11-26T12:34:56.789Z"},
	} {
		got, err := parseDateMath(tc.expr, now, tc.roundUp)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if s := got.Format("2006-01-02T15:04:05.000Z07:00"); s != tc.want {
			t.Errorf("%s (roundUp %v) = %s, want %s", tc.expr, tc.roundUp, s, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "now-", "now-7x", "now*2d", "2025-13-01", "2025-02-30", "now-1d/"} {
		if _, err := parseDateMath(bad, now, false); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestAnalyze(t *testing.T) {
	for in, want := range map[string]string{
		"SSH Brute-Force":        "ssh|brute|force",
		"Connection to 10.0.0.1": "connection|to|10.0.0.1",
		"evil.example.com/x":     "evil.example.com|x",
		"don't stop":             "don't|stop",
		"snake_case 1,000":       "snake_case|1,000",
		"":                       "",
	} {
		got := ""
		for i, tok := range analyze(in) {
			if i > 0 {
				got += "|"
			}
			got += tok
		}
		if got != want {
			t.Errorf("analyze(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJavaString(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{{2, "2.0"}, {2.5, "2.5"}, {1e7, "1.0E7"}, {0.0001, "1.0E-4"}, {123456.75, "123456.75"}, {-3, "-3.0"}} {
		if got := javaDouble(tc.in); got != tc.want {
			t.Errorf("javaDouble(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
