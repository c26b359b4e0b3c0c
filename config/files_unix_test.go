//go:build unix

package config

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// mkfifo makes a named pipe. A read of it blocks until a writer comes, so
// the test unblocks any reader it left behind by opening the write end.
func mkfifo(t *testing.T) string {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	t.Cleanup(func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = w.Close()
		}
	})
	return fifo
}

// returnsSoon runs load and fails the test if it has not returned within
// a minute: reading a FIFO would block it for ever.
func returnsSoon(t *testing.T, load func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- load() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("the load blocked on the file")
		return nil
	}
}

// A secret file or the configuration file that is a named pipe or a device
// is refused before it is opened: a FIFO would wedge the load (and every
// later reload), /dev/zero would grow memory without end.
func TestOnlyRegularFilesAreRead(t *testing.T) {
	fifo := mkfifo(t)
	for _, tc := range []struct{ path, kind string }{{fifo, "a named pipe"}, {os.DevNull, "a device or a socket"}} {
		err := returnsSoon(t, func() error {
			_, err := parse("utmstack:\n  url: https://h\n  auth: {api_key_file: "+tc.path+"}\n", nil)
			return err
		})
		checkErr(t, err, `utmstack.auth.api_key_file: cannot read the API key: `+tc.path+` is `+tc.kind+`, not a regular file; `+waysAPIKey)

		err = returnsSoon(t, func() error { _, err := Load(tc.path, withKey); return err })
		if want := "reading configuration file: " + tc.path + " is " + tc.kind + ", not a regular file"; err == nil || err.Error() != want {
			t.Errorf("error %v, want %s", err, want)
		}
	}
	// A CA file too: commoncfg would read /dev/zero to the end.
	_, err := parse("utmstack: {url: https://h, tls_config: {ca_file: "+os.DevNull+"}}\n", withKey)
	checkErr(t, err, `utmstack.tls_config: `+os.DevNull+` is a device or a socket, not a regular file`)
}
