package main

import (
	"strings"
	"testing"
	"time"

	"github.com/utmstack/utmstack_exporter/internal/chain"
)

// Each alert is printed once per state, although Alertmanager sends the
// whole group again whenever it changes.
func TestPrinterPrintsEachStateOnce(t *testing.T) {
	var out strings.Builder
	p := &printer{out: &out}
	down := chain.Alert{Status: "firing", Labels: map[string]string{"alertname": "UTMStackDown", "severity": "critical", "url": "https://u"},
		Annotations: map[string]string{"summary": "UTMStack https://u is unreachable", "runbook_url": "https://r#utmstackdown"}}
	high := chain.Alert{Status: "firing", Labels: map[string]string{"alertname": "UTMStackHighSeverityAlertOpen", "severity": "critical"},
		Annotations: map[string]string{"summary": "open", "alert_view_url": "https://u/data/alert/view"}}
	p.deliver(chain.Notification{Path: "/pager", Alerts: []chain.Alert{down}})
	p.deliver(chain.Notification{Path: "/pager", Alerts: []chain.Alert{down, high}})
	resolved := down
	resolved.Status = "resolved"
	p.deliver(chain.Notification{Path: "/pager", Alerts: []chain.Alert{resolved, high}})
	text := out.String()
	for what, want := range map[string]int{"FIRING   UTMStackDown": 1, "FIRING   UTMStackHighSeverityAlertOpen": 1, "RESOLVED UTMStackDown": 1,
		"runbook: https://r#utmstackdown": 2, "alert view: https://u/data/alert/view": 1} {
		if got := strings.Count(text, what); got != want {
			t.Errorf("%q printed %d times, want %d:\n%s", what, got, want, text)
		}
	}
}

// A firing alert says what its rule's for: became at the demo's speed, so
// that "for at least 5 minutes" in its text is not taken literally.
func TestPrinterSaysTheDemoDurations(t *testing.T) {
	var out strings.Builder
	p := &printer{out: &out, scale: 12, forOf: map[string]time.Duration{"UTMStackHighSeverityAlertOpen": 5 * time.Minute}}
	p.deliver(chain.Notification{Path: "/pager", Alerts: []chain.Alert{{Status: "firing",
		Labels: map[string]string{"alertname": "UTMStackHighSeverityAlertOpen"}, Annotations: map[string]string{"description": "for at least 5 minutes"}}}})
	if want := "(demo time, 12 times faster: the rule's for: 5m took 25s here)"; !strings.Contains(out.String(), want) {
		t.Errorf("no %q in:\n%s", want, out.String())
	}
}
