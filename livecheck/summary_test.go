package livecheck

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// summaryAlerts: most alerts completed (status 5, last in UTMStack's order
// of status codes), a few of each other status.
func summaryAlerts() []utmstacktest.Alert {
	at := time.Now().Add(-time.Hour).Format(time.RFC3339)
	var alerts []utmstacktest.Alert
	for i, status := range []int{1, 1, 2, 2, 3, 5, 5, 5, 5, 5, 5, 5} {
		alerts = append(alerts, utmstacktest.Alert{"@timestamp": at, "id": fmt.Sprint(i), "name": "Port scan", "severity": 1 + i%3, "status": status})
	}
	return alerts
}

// The summary of a breakdown names its largest values first, whatever
// their order in UTMStack's codes, and says how many more there are.
func TestLiveCheckSummaryShowsTheLargestValues(t *testing.T) {
	_, url := liveFake(t, summaryAlerts())
	_, out := liveCheck(t, url, livePassword)
	if want := "status: completed 7, automatic_review 2, open 2, 1 more;"; !strings.Contains(out, want) {
		t.Errorf("the report lacks %q:\n%s", want, out)
	}
	if want := "severity: low 4, medium 4, high 4;"; !strings.Contains(out, want) {
		t.Errorf("equal counts do not keep their order: the report lacks %q:\n%s", want, out)
	}
}

// The round line counts the requests UTMStack really got: after a refused
// login, none of the calls that need it.
func TestLiveCheckCountsOnlyTheCallsSent(t *testing.T) {
	fake, url := liveFake(t, summaryAlerts())
	round := regexp.MustCompile(`(?m)^  round\s+(.*)$`)

	before := fake.TotalRequests()
	_, out := liveCheck(t, url, livePassword)
	line := round.FindStringSubmatch(out)
	// Every request but the version's (asked before the round) and the login.
	calls := fake.TotalRequests() - before - 2
	if want := fmt.Sprintf("1 login; %d calls in ", calls); line == nil || !strings.HasPrefix(line[1], want) {
		t.Errorf("round line %q, want it to start with %q:\n%s", line, want, out)
	}

	before = fake.TotalRequests()
	_, out = liveCheck(t, url, "  auth: {username: prometheus, password: not-it}\n")
	if n := fake.TotalRequests() - before; n != 2 {
		t.Fatalf("%d requests with a wrong password, want 2 (the version and the login)", n)
	}
	if n := fake.Requests(http.MethodPost, "/api/authenticate"); n != 2 {
		t.Fatalf("%d logins in all, want 2", n)
	}
	refused := regexp.MustCompile(`^1 login; none of its \d+ calls sent: they need the login UTMStack refused$`)
	if line = round.FindStringSubmatch(out); line == nil || !refused.MatchString(line[1]) {
		t.Errorf("round line after a refused login %q, want it to match %s:\n%s", line, refused, out)
	}
}
