package chain

import (
	"encoding/json"
	"net/http"
	"time"
)

// Notification is what Alertmanager's webhook receiver POSTs (version 4 of
// its format; only the fields used here).
type Notification struct {
	Receiver string  `json:"receiver"`
	Status   string  `json:"status"` // firing or resolved
	Alerts   []Alert `json:"alerts"`
	GroupKey string  `json:"groupKey"`
	// Path is the URL path the notification arrived on: the shipped
	// webhook's path (/pager, /soc-queue).
	Path string `json:"-"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
}

// Receiver is an http.Handler for Alertmanager's webhooks: it hands every
// notification to Deliver, in the order they arrive.
type Receiver struct {
	Deliver func(Notification)
}

func (r Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var n Notification
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 1<<20)).Decode(&n); err != nil {
		http.Error(w, "not an Alertmanager notification: "+err.Error(), http.StatusBadRequest)
		return
	}
	n.Path = req.URL.Path
	r.Deliver(n)
	w.WriteHeader(http.StatusOK)
}
