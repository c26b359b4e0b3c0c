package utmstack_test

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

const (
	valuesPath = "/api/elasticsearch/property/values-with-count"
	searchPath = "/api/elasticsearch/search"
)

// bucketsBody is a values-with-count answer with n distinct keys.
func bucketsBody(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strconv.FormatInt(int64(i), 36) + `":1`)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// TestFarMoreBucketsThanAskedAreRefused: a terms aggregation never
// answers more buckets than its top. An answer of 300 000 keys in under
// 4 MiB is refused at the first key too many, and reading it costs about
// its body (once, twice under -race), not a map of 300 000 entries; an
// answer of exactly top keys is taken.
func TestFarMoreBucketsThanAskedAreRefused(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey}}})
	c := f.client(t, utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey})
	req := utmstack.ValuesRequest{Index: "v11-alert-*", Field: "adversary.geolocation.countryCode.keyword", Top: 10}

	f.fake.SetFault(utmstacktest.DataAnswer(valuesPath, bucketsBody(10)))
	if got, err := c.ValuesWithCount(context.Background(), req); err != nil || len(got) != 10 {
		t.Fatalf("10 buckets for top 10: %d, %v", len(got), err)
	}
	f.fake.SetFault(utmstacktest.DataAnswer(valuesPath, bucketsBody(11)))
	if _, err := c.ValuesWithCount(context.Background(), req); err == nil || !strings.Contains(err.Error(), "at most 10 buckets") {
		t.Fatalf("11 buckets for top 10: err = %v, want a refusal", err)
	}

	body := bucketsBody(300_000)
	if len(body) >= utmstack.DefaultMaxBodyBytes {
		t.Fatalf("the answer is %d bytes, want it under the body limit", len(body))
	}
	f.fake.SetFault(utmstacktest.DataAnswer(valuesPath, body))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.ValuesWithCount(context.Background(), req)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "expected at most 10 buckets (the top asked for), got more") {
		t.Fatalf("err = %v, want a refusal naming the top", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*uint64(len(body)) {
		t.Fatalf("reading a %d-byte answer allocated %d bytes, want at most 3 times the body", len(body), alloc)
	}
}

// TestCountsBeyondWhatASampleHoldsAreRefused: counts near MaxInt64 would
// overflow the total (utmstack_alerts -2); a count above 2^53 (the largest
// integer a float64 sample holds exactly) is a bad answer.
func TestCountsBeyondWhatASampleHoldsAreRefused(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey}}})
	c := f.client(t, utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey})
	for _, body := range []string{
		`{"2": 9223372036854775807, "5": 10}`,
		`{"2": 4611686018427387904, "5": 4611686018427387904}`,
		`{"2": 9007199254740993}`,
	} {
		f.fake.SetFault(utmstacktest.DataAnswer(valuesPath, []byte(body)))
		got, err := c.ValuesWithCount(context.Background(), byStatus)
		if err == nil || !strings.Contains(err.Error(), "up to 2^53") {
			t.Errorf("%s: got %v, err %v; want a refusal", body, got, err)
		}
	}
}

// TestTimestampsPast2262AreRefused: an @timestamp after 2262 does not fit
// Unix nanoseconds and would wrap to a negative time, an alert centuries
// old; before 1970 is as implausible. Both are bad answers.
func TestTimestampsPast2262AreRefused(t *testing.T) {
	f := newFixture(t, utmstacktest.Options{APIKeys: []utmstacktest.APIKey{{Key: testAPIKey}}})
	c := f.client(t, utmstack.Credentials{Method: utmstack.AuthAPIKey, Secret: testAPIKey})
	for _, body := range []string{
		`[{"@timestamp": "2300-01-01T00:00:00Z"}]`,
		`[{"@timestamp": 10000000000000000}]`,
		`[{"@timestamp": "1969-12-31T23:59:59Z"}]`,
	} {
		f.fake.SetFault(utmstacktest.DataAnswer(searchPath, []byte(body)))
		at, found, err := c.AlertTime(context.Background(), "v11-alert-*", nil, true)
		if err == nil || !strings.Contains(err.Error(), "outside 1970 to 2262") {
			t.Errorf("%s: got %v (found %v), err %v; want a refusal", body, at, found, err)
		}
	}
	f.fake.SetFault(utmstacktest.DataAnswer(searchPath, []byte(`[{"@timestamp": "2262-04-11T00:00:00Z"}]`)))
	if at, _, err := c.AlertTime(context.Background(), "v11-alert-*", nil, true); err != nil || !at.Equal(time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("the last day that fits: %v, %v", at, err)
	}
}
