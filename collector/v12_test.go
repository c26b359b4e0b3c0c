package collector

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/config"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// A UTMStack that runs the v12 API is named as such, counted as
// unsupported_api, logged once, and backed off from as for refused
// credentials: with a password and with a key.
func TestV12IsRecognisedAndBackedOffFrom(t *testing.T) {
	for _, auth := range []string{"{username: prometheus, password: secret-v12-password}", "{api_key: secret-v12-key}"} {
		t.Run(auth, func(t *testing.T) {
			h := newHarness(t, nil, "")
			v12 := httptest.NewServer(utmstacktest.NewV12())
			t.Cleanup(v12.Close)
			cfg, err := config.Parse([]byte(fmt.Sprintf("utmstack:\n  url: %s\n  auth: %s\nincidents: false\n", v12.URL, auth)), "v12.yml", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.exporter.Apply(cfg); err != nil {
				t.Fatal(err)
			}
			var upstream int
			for i := range 4 {
				series, body, _ := promScrape(t, h, "")
				if series["utmstack_up"] != 0 || series[`utmstack_exporter_auth_failures_total{reason="unsupported_api"}`] == 0 ||
					series[`utmstack_exporter_auth_failures_total{reason="error"}`] != 0 {
					t.Fatalf("scrape %d of a v12 UTMStack:\n%s", i, body)
				}
				if i == 0 {
					upstream = int(series[`utmstack_exporter_upstream_requests_total{code="404",endpoint="authenticate"}`] +
						series[`utmstack_exporter_upstream_requests_total{code="404",endpoint="values_with_count"}`])
				} else if n := int(series[`utmstack_exporter_upstream_requests_total{code="404",endpoint="authenticate"}`] +
					series[`utmstack_exporter_upstream_requests_total{code="404",endpoint="values_with_count"}`]); n != upstream {
					t.Fatalf("scrape %d, 15 s later, called UTMStack again (%d 404s, then %d)", i, upstream, n)
				}
				h.clock.Advance(15 * time.Second)
			}
			if n := strings.Count(h.logs.String(), "runs the v12 API"); n != 1 {
				t.Fatalf("the v12 API logged %d times, want once:\n%s", n, h.logs)
			}
			series, _, _ := promScrape(t, h, "")
			if n := series[`utmstack_exporter_upstream_requests_total{code="200",endpoint="v1_health"}`]; n != 1 {
				t.Fatalf("/api/v1/health asked %v times, want once", n)
			}
		})
	}
}

// A 404 from a UTMStack without /api/v1/health is an ordinary error.
func TestPlain404IsNotV12(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
	h.refuse(pathIs(dataPath), http.StatusNotFound)
	series, body, _ := promScrape(t, h, "")
	if series[`utmstack_exporter_auth_failures_total{reason="unsupported_api"}`] != 0 || series[`utmstack_query_up{query="all"}`] != 0 {
		t.Fatalf("a plain 404:\n%s", body)
	}
}
