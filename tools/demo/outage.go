package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// stageOutage makes the fake UTMStack drop every connection from at to
// at+length after the demo started, so that within its first minutes the
// demo shows a page (UTMStackDown) firing and then resolving, and the data
// alerts keeping their state meanwhile.
func stageOutage(ctx context.Context, out io.Writer, fake *utmstacktest.Server, at, length time.Duration) {
	if length <= 0 {
		return
	}
	select {
	case <-time.After(at):
	case <-ctx.Done():
		return
	}
	_, _ = fmt.Fprintf(out, "%s  demo      the fake UTMStack stops answering for %s: UTMStackDown pages, then resolves when it is back\n",
		time.Now().Format("15:04:05"), length)
	fake.SetFault(func(w http.ResponseWriter, _ *http.Request) bool {
		// A dead UTMStack: the connection closes without an answer.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return true
	})
	select {
	case <-time.After(length):
	case <-ctx.Done():
	}
	fake.SetFault(nil)
	_, _ = fmt.Fprintf(out, "%s  demo      the fake UTMStack answers again\n", time.Now().Format("15:04:05"))
}
