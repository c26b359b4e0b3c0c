package living

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/utmstack/utmstack_exporter/utmstack/utmstacktest"
)

// Incidents returns n incidents created over the five days before now,
// most of them completed, some open or in review, a few merged. The same
// now, n and seed always give the same incidents.
func Incidents(now time.Time, n int, seed int64) []utmstacktest.Incident {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5851f42d4c957f2d))
	statuses := []string{"OPEN", "IN_REVIEW", "COMPLETED", "MERGED"}
	weights := []float64{25, 15, 52, 8}
	out := make([]utmstacktest.Incident, 0, max(n, 0))
	for i := range max(n, 0) {
		rule := demoRules[r.IntN(len(demoRules))]
		out = append(out, utmstacktest.Incident{
			ID:          int64(i + 1),
			Name:        fmt.Sprintf("INC-%04d %s", i+1, rule.name),
			Description: "Opened from alerts of " + rule.name + ".",
			Status:      statuses[pick(r, weights)],
			Severity:    int(rule.severity),
			Created:     now.Add(-time.Duration(r.Int64N(int64(5 * 24 * time.Hour)))),
		})
	}
	return out
}
