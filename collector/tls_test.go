package collector

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/utmstack/utmstack_exporter/internal/testcert"
)

// UTMStack ships with a self-signed certificate. The exporter verifies it
// like any other unless told otherwise: a credential must not go to whoever
// answers on the address.

// tlsHarness is newHarness with the fake behind TLS (httptest's own
// certificate, valid for 127.0.0.1 and example.com) and yamlBody applied.
func tlsHarness(t *testing.T, yamlBody string) (*harness, *httptest.Server) {
	t.Helper()
	h := newHarness(t, knownAlerts(), "")
	srv := httptest.NewUnstartedServer(h.fake)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h.upstream = srv
	if err := h.exporter.Apply(h.config(t, yamlBody, testPassword)); err != nil {
		t.Fatal(err)
	}
	h.fake.ResetCounts()
	return h, srv
}

// certFile writes the server's certificate as a PEM CA file.
func certFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	return writePEM(t, "utmstack-ca.crt", srv.Certificate().Raw)
}

func writePEM(t *testing.T, name string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// otherCA is a CA that did not sign the server's certificate.
func otherCA(t *testing.T) string {
	t.Helper()
	cert, _ := testcert.SelfSigned(t, "some other CA")
	path := filepath.Join(t.TempDir(), "other-ca.crt")
	if err := os.WriteFile(path, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const upOne = "# HELP utmstack_up 1 when UTMStack answered and authentication succeeded during this scrape.\n# TYPE utmstack_up gauge\nutmstack_up 1\n"

func wantRefusedTLS(t *testing.T, h *harness) {
	t.Helper()
	series, body, _ := promScrape(t, h, "")
	if series["utmstack_up"] != 0 {
		t.Fatalf("utmstack_up is not 0 against an unverified certificate:\n%s", body)
	}
	if leaked := dataSeries(series, "all"); len(leaked) > 0 {
		t.Fatalf("data exported over an unverified connection: %v", leaked)
	}
	if n := h.fake.TotalRequests(); n != 0 {
		t.Fatalf("%d requests (the login with the password among them) reached UTMStack over an unverified connection", n)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "certificate") {
		t.Fatalf("the log does not say the certificate was the problem:\n%s", logs)
	}
}

func TestTLSVerifiedByDefault(t *testing.T) {
	h, _ := tlsHarness(t, "")
	wantRefusedTLS(t, h)
}

func TestTLSWithCAFile(t *testing.T) {
	h, srv := tlsHarness(t, "")
	if err := h.exporter.Apply(h.config(t, "  tls_config:\n    ca_file: "+certFile(t, srv)+"\n", testPassword)); err != nil {
		t.Fatal(err)
	}
	h.scrape(t, upOne+`# HELP utmstack_alerts Alerts matching the query.
# TYPE utmstack_alerts gauge
utmstack_alerts{query="all"} 8
utmstack_alerts{query="open"} 5
`, "utmstack_up", "utmstack_alerts")
	if strings.Contains(h.logs.String(), "verification of UTMStack is disabled") {
		t.Fatal("a verified connection was logged as unverified")
	}
}

func TestTLSWithTheWrongCAFile(t *testing.T) {
	h, _ := tlsHarness(t, "")
	if err := h.exporter.Apply(h.config(t, "  tls_config:\n    ca_file: "+otherCA(t)+"\n", testPassword)); err != nil {
		t.Fatal(err)
	}
	wantRefusedTLS(t, h)
}

func TestTLSChecksTheHostName(t *testing.T) {
	h, srv := tlsHarness(t, "")
	ca := certFile(t, srv)
	// The right CA, but the certificate does not name "localhost".
	h.upstream = &httptest.Server{URL: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)}
	if err := h.exporter.Apply(h.config(t, "  tls_config:\n    ca_file: "+ca+"\n", testPassword)); err != nil {
		t.Fatal(err)
	}
	wantRefusedTLS(t, h)

	// server_name names what the certificate does.
	if err := h.exporter.Apply(h.config(t, "  tls_config:\n    ca_file: "+ca+"\n    server_name: example.com\n", testPassword)); err != nil {
		t.Fatal(err)
	}
	h.scrape(t, upOne, "utmstack_up")
}

func TestInsecureSkipVerifyWarnsAtApply(t *testing.T) {
	h, _ := tlsHarness(t, "")
	before := strings.Count(h.logs.String(), "TLS certificate verification of UTMStack is disabled")
	if err := h.exporter.Apply(h.config(t, "  tls_config:\n    insecure_skip_verify: true\n", testPassword)); err != nil {
		t.Fatal(err)
	}
	logs := h.logs.String()
	if n := strings.Count(logs, "TLS certificate verification of UTMStack is disabled") - before; n != 1 {
		t.Fatalf("%d warnings at Apply with insecure_skip_verify, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, "level=WARN") {
		t.Fatalf("the warning is not at warning level:\n%s", logs)
	}
	h.scrape(t, upOne, "utmstack_up")
}
