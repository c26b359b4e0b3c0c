package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/utmstack/utmstack_exporter/internal/chain"
)

// printer writes each notification the way an on-call person would read
// it: state, alert, severity and UTMStack on one line, then the summary,
// the description and the links. Alertmanager sends a group's every alert
// each time the group changes; only the alerts that are new or changed
// state are printed.
type printer struct {
	mu    sync.Mutex
	out   io.Writer
	state map[string]string // alert (its labels) → last state printed
	// scale is how many times faster than production the demo runs, and
	// forOf each rule's for: as shipped: a firing alert says what its
	// texts' durations are here.
	scale int
	forOf map[string]time.Duration
}

func (p *printer) deliver(n chain.Notification) {
	p.mu.Lock()
	defer p.mu.Unlock()
	receiver := strings.TrimPrefix(n.Path, "/")
	var b strings.Builder
	if p.state == nil {
		p.state = map[string]string{}
	}
	for _, a := range n.Alerts {
		key := fmt.Sprint(a.Labels) // fmt prints maps sorted by key
		if p.state[key] == a.Status {
			continue
		}
		p.state[key] = a.Status
		state := strings.ToUpper(a.Status)
		fmt.Fprintf(&b, "%s  %-9s %-8s %s  [%s]  %s\n", time.Now().Format("15:04:05"), receiver, state,
			a.Labels["alertname"], a.Labels["severity"], a.Labels["url"])
		fmt.Fprintf(&b, "          %s\n", a.Annotations["summary"])
		if a.Status == "firing" {
			fmt.Fprintf(&b, "          %s\n", a.Annotations["description"])
			if d, ok := p.forOf[a.Labels["alertname"]]; ok && d > 0 && p.scale > 1 {
				fmt.Fprintf(&b, "          (demo time, %d times faster: the rule's for: %s took %s here)\n", p.scale,
					model.Duration(d), model.Duration(d/time.Duration(p.scale)))
			}
		}
		for _, link := range []struct{ name, key string }{{"runbook", "runbook_url"}, {"alert view", "alert_view_url"}} {
			if v := a.Annotations[link.key]; v != "" {
				fmt.Fprintf(&b, "          %s: %s\n", link.name, v)
			}
		}
	}
	_, _ = io.WriteString(p.out, b.String())
}
