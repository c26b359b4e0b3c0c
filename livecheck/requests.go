package livecheck

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// loginEndpoint is the client's endpoint label of a password login.
const loginEndpoint = "authenticate"

// requestCount counts the requests the client really sent to UTMStack, so
// that the report does not count calls a failed login kept from being
// sent.
type requestCount struct {
	mu            sync.Mutex
	logins, calls int
}

func (c *requestCount) observe(endpoint string, _ int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if endpoint == loginEndpoint {
		c.logins++
	} else {
		c.calls++
	}
}

func (c *requestCount) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logins, c.calls = 0, 0
}

// describe is the report's round line: the logins, the calls sent of the
// planned ones, and why the others were not sent.
func (c *requestCount) describe(planned int, took time.Duration, errs []error) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out string
	switch c.logins {
	case 0:
	case 1:
		out = "1 login; "
	default:
		out = fmt.Sprintf("%d logins; ", c.logins)
	}
	if c.calls >= planned { // a retry after a 401 makes more
		return out + fmt.Sprintf("%d calls in %s", c.calls, took.Round(time.Millisecond))
	}
	why := "they failed before they were sent"
	var authErr *utmstack.AuthError
	for _, err := range errs {
		switch {
		case errors.As(err, &authErr):
			why = "they need the login UTMStack refused"
		case errors.Is(err, context.DeadlineExceeded):
			why = "the timeout ran out"
		}
	}
	if c.calls == 0 {
		return out + fmt.Sprintf("none of its %d calls sent: %s", planned, why)
	}
	return out + fmt.Sprintf("%d of its %d calls sent in %s, the other %d not: %s", c.calls, planned, took.Round(time.Millisecond), planned-c.calls, why)
}
