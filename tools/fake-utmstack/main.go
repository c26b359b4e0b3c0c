// Command fake-utmstack serves the test suite's fake UTMStack API with a
// generated alert set, for `make demo`, load tests and trying the exporter
// without a real UTMStack. Loopback only by default.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/utmstack/utmstack_exporter/tools/demo/living"
	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

func main() {
	var (
		listen   = flag.String("listen", "127.0.0.1:9851", "Address to serve the fake API on.")
		alerts   = flag.Int("alerts", 2000, "Number of generated alerts.")
		seed     = flag.Int64("seed", 1, "Seed of the generated alert set.")
		user     = flag.String("user", "prometheus", "Login of the one user.")
		password = flag.String("password", "demo-password", "Password of that user.")
		apiKey   = flag.String("api-key", "", "Accept this user API key (Utm-Api-Key) as well.")
		internal = flag.String("internal-key", "", "Accept this internal key (Utm-Internal-Key) as well.")
		legacy   = flag.Bool("legacy", false, "Answer like UTMStack v10/v11 before 11.0 (id_token logins, no API keys).")
		latency  = flag.Duration("latency", 0, "Delay every request by this much.")
		ready    = flag.String("ready-file", "", "Write the served URL to this file once listening.")
	)
	flag.Parse()

	opts := utmstacktest.Options{
		Users:     map[string]string{*user: *password},
		Alerts:    living.Alerts(time.Now(), *alerts, *seed),
		Incidents: living.Incidents(time.Now(), *alerts/40, *seed),
	}
	if *legacy {
		opts.Edition = utmstacktest.EditionLegacy
	}
	if *apiKey != "" {
		opts.APIKeys = []utmstacktest.APIKey{{Key: *apiKey, User: *user}}
	}
	opts.InternalKey = *internal
	fake := utmstacktest.New(opts)
	fake.SetLatency(*latency)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("fake-utmstack: %v", err)
	}
	url := "http://" + ln.Addr().String()
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte(url+"\n"), 0o644); err != nil {
			log.Fatalf("fake-utmstack: %v", err)
		}
	}
	fmt.Printf("fake UTMStack with %d alerts listening on %s (user %q)\n", *alerts, url, *user)
	log.Fatal(http.Serve(ln, fake))
}
