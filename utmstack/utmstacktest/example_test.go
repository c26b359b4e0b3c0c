package utmstacktest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

func Example() {
	clock := utmstacktest.NewClock(time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC))
	fake := utmstacktest.New(utmstacktest.Options{
		Clock:   clock,
		APIKeys: []utmstacktest.APIKey{{Key: "demo-key", ExpiresAt: clock.Now().Add(7 * 24 * time.Hour)}},
		Alerts: []utmstacktest.Alert{
			{"@timestamp": "2025-11-26T11:00:00Z", "severity": 3, "status": 2},
			{"@timestamp": "2025-11-26T10:00:00Z", "severity": 1, "status": 2},
			{"@timestamp": "2025-11-20T10:00:00Z", "severity": 3, "status": 5},
		},
	})
	srv := httptest.NewServer(fake)
	defer srv.Close()

	body := `{"field":"severity","index":"v11-alert-*","top":10,"orderByCount":true,
		"filters":[{"field":"@timestamp","operator":"IS_BETWEEN","value":["now-24h","now"]}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/elasticsearch/property/values-with-count", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Utm-Api-Key", "demo-key")
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(out))

	clock.Advance(7 * 24 * time.Hour) // the key expires: UTMStack answers 500, not 401
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/api/authenticate", nil)
	req.Header.Set("Utm-Api-Key", "demo-key")
	resp, err = srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	_ = resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// 200 {"1":1,"3":1}
	// 500
}
