package living

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

var t0 = time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC)

// fixture is a fake UTMStack on loopback with a fake clock, asked with
// its internal key.
type fixture struct {
	t     *testing.T
	srv   *utmstacktest.Server
	url   string
	clock *utmstacktest.Clock
}

func newFixture(t *testing.T, alerts []utmstacktest.Alert) *fixture {
	t.Helper()
	clock := utmstacktest.NewClock(t0)
	s := utmstacktest.New(utmstacktest.Options{Clock: clock, InternalKey: "k", Alerts: alerts})
	h := httptest.NewServer(s)
	t.Cleanup(h.Close)
	return &fixture{t: t, srv: s, url: h.URL, clock: clock}
}

// get sends a request with the internal key and returns the answer's body
// and headers; anything but 200 fails the test.
func (f *fixture) get(method, path, body string) (string, http.Header) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Utm-Internal-Key", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("%s %s: status %d (X-UtmStack-error %q)", method, path, resp.StatusCode, resp.Header.Get("X-UtmStack-error"))
	}
	return string(b), resp.Header
}

// counts is values-with-count over v11-alert-*.
func (f *fixture) counts(field, filters, extra string) string {
	f.t.Helper()
	body, _ := f.get(http.MethodPost, "/api/elasticsearch/property/values-with-count",
		`{"field":"`+field+`","index":"v11-alert-*","filters":`+filters+extra+`}`)
	return body
}
