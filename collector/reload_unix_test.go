//go:build unix

package collector

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/internal/testcert"
)

// TestScrapesAreServedWhileAReloadReadsAHungFile: a reload builds its
// clients, which read TLS files with no deadline, before it holds the
// scrapes back. A ca_file that blocks (a hung mount; a named pipe here)
// delays the reload, not /metrics.
func TestScrapesAreServedWhileAReloadReadsAHungFile(t *testing.T) {
	h := newHarness(t, knownAlerts(), "")
	ca, _ := testcert.SelfSigned(t, "the CA of the reload")
	dir := t.TempDir()
	caFile, regular := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.crt.regular")
	for _, f := range []string{caFile, regular} {
		if err := os.WriteFile(f, ca, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := h.config(t, "  tls_config:\n    ca_file: "+caFile+"\n", testPassword) // checked while regular

	// The file hangs from now on: its reader waits for a writer.
	if err := os.Remove(caFile); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(caFile, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	applied := make(chan error, 1)
	go func() { applied <- h.exporter.Apply(cfg) }()
	opened := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(caFile, os.O_WRONLY, 0) // returns once the reload is reading it
		if err != nil {
			w = nil
		}
		opened <- w
	}()
	var w *os.File
	select {
	case w = <-opened:
	case err := <-applied:
		// Unblock the open above before failing.
		if r, rerr := os.OpenFile(caFile, os.O_RDONLY|syscall.O_NONBLOCK, 0); rerr == nil {
			_ = r.Close()
		}
		t.Fatalf("the reload ended without reading ca_file: %v", err)
	}
	if w == nil {
		t.Fatal("opening the named pipe for writing failed")
	}
	t.Cleanup(func() { _ = w.Close() }) // a failed test still lets the reload end
	// Later reads of the path find a regular file again; this one waits
	// until the scrape below is done.
	if err := os.Rename(regular, caFile); err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 10 * time.Second} // bounds the test only
	resp, err := client.Get(h.server.URL)
	if err != nil {
		t.Fatalf("a scrape while a reload reads a hung file: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(body), "utmstack_up 1") {
		t.Fatalf("a scrape while a reload reads a hung file got:\n%s", body)
	}

	if _, err := w.Write(ca); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	if err := <-applied; err != nil {
		t.Fatalf("the reload, once the file answered: %v", err)
	}
	if h.exporter.Config() != cfg {
		t.Fatal("the reload did not make its configuration the running one")
	}
}
