package round

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/utmstack/utmstack_exporter/config"
)

// Label values METRICS.md documents. These are always exported, 0 when
// absent, so panels and alert rules work on a fresh install.
var (
	severityValues = []string{"low", "medium", "high"}
	statusValues   = []string{"automatic_review", "open", "in_review", "completed"}
)

const (
	labelUnknown = "unknown"
	labelOther   = "other"
	labelIgnored = "ignored"
)

// severityLabel maps UTMStack's AlertSeverityEnum (1 Low, 2 Medium, 3 High),
// or its labels for severity: severityLabel.keyword.
var severityLabel = enumLabel(map[string]string{"1": "low", "low": "low", "2": "medium", "medium": "medium", "3": "high", "high": "high"})

// statusLabel maps UTMStack's AlertStatus (1, 2, 3, 5) and the frontend's
// IGNORED (4), or their labels for status: statusLabel.keyword.
var statusLabel = enumLabel(map[string]string{
	"1": "automatic_review", "automatic review": "automatic_review", "2": "open", "open": "open",
	"3": "in_review", "in review": "in_review", "4": labelIgnored, "ignored": labelIgnored, "5": "completed", "completed": "completed",
})

// enumLabel maps a bucket key, in any case, to its label value; unknown
// when it has none.
func enumLabel(labels map[string]string) func(string) string {
	return func(key string) string {
		if label, ok := labels[strings.ToLower(key)]; ok {
			return label
		}
		return labelUnknown
	}
}

// MaxValues is the most label values b exports for a query in one round:
// values from alert data are capped by its top, so the configuration bounds it.
func MaxValues(b config.Breakdown) int {
	switch b.Name {
	case config.BySeverity:
		return len(severityValues) + 1 // unknown
	case config.ByStatus:
		return len(statusValues) + 2 // ignored, unknown
	case config.ByCountry:
		return b.Top + 2 // other, unknown
	}
	return b.Top + 1 // other
}

// LabelCount is one label value of a breakdown and its alerts.
type LabelCount struct {
	Label string // safe to export
	Count int64  // the query's alerts that have it
}

// enumBreakdown maps buckets onto the declared values (all present, zero
// when absent) plus any extra label seen. missing alerts (total minus the
// buckets' sum: the field is absent on them) count as unknown.
func enumBreakdown(buckets map[string]int64, declared []string, mapKey func(string) string, total int64) []LabelCount {
	sums := make(map[string]int64, len(declared)+2)
	var seen int64
	for key, n := range buckets {
		sums[mapKey(key)] += n
		seen += n
	}
	if missing := total - seen; missing > 0 {
		sums[labelUnknown] += missing
	}
	out := make([]LabelCount, 0, len(declared)+2)
	for _, label := range declared {
		out = append(out, LabelCount{label, sums[label]})
		delete(sums, label)
	}
	for _, extra := range []string{labelIgnored, labelUnknown} {
		if n, ok := sums[extra]; ok {
			out = append(out, LabelCount{extra, n})
		}
	}
	return out
}

// total is the sum of the status buckets; every alert has a status.
func total(statusBuckets map[string]int64) int64 {
	var sum int64
	for _, n := range statusBuckets {
		sum += n
	}
	return sum
}

// countryBreakdown keeps the top countries as label values, sums the rest
// into "other", and puts alerts without geolocation (total minus every
// bucket) and unusable keys into "unknown", so the values add up to total.
func countryBreakdown(buckets map[string]int64, top int, total int64) []LabelCount {
	countries := make([]LabelCount, 0, len(buckets))
	var seen, other, unknown int64
	for key, n := range buckets {
		seen += n
		switch {
		case key == labelOther:
			other += n
		case !usableLabel(key) || key == labelUnknown:
			unknown += n
		default:
			countries = append(countries, LabelCount{key, n})
		}
	}
	countries, rest := keepTop(countries, top)
	other += rest
	if missing := total - seen; missing > 0 {
		unknown += missing
	}
	return append(countries, LabelCount{labelOther, other}, LabelCount{labelUnknown, unknown})
}

// usableLabel rejects keys that would make poor or unsafe label values.
// The JSON decoder turns invalid bytes into U+FFFD, which is refused too.
func usableLabel(s string) bool {
	return s != "" && len(s) <= maxCountryLabelLen && strings.TrimSpace(s) == s &&
		!strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == utf8.RuneError })
}

// Caps on label values taken from alert data.
const (
	maxCountryLabelLen = 64 // bytes
	maxLabelRunes      = 128
)

// fieldBreakdown keeps the top values of a field as label values (made
// label-safe, those that become equal summed) and sums every other alert of
// the query, those without the field included, into "other", always present,
// so the values add up to total.
func fieldBreakdown(buckets map[string]int64, top int, total int64) []LabelCount {
	sums := make(map[string]int64, len(buckets))
	var seen int64
	for key, n := range buckets {
		sums[labelValue(key)] += n
		seen += n
	}
	values := make([]LabelCount, 0, len(sums))
	other := max(total-seen, 0)
	for label, n := range sums {
		if label == labelOther {
			other += n
			continue
		}
		values = append(values, LabelCount{label, n})
	}
	values, rest := keepTop(values, top)
	return append(values, LabelCount{labelOther, other + rest})
}

// keepTop sorts values by count, most first (ties by label), and returns
// the top of them and the sum of the rest. It copies the kept labels: keys
// may be substrings of the whole answer, which is not held until the next round.
func keepTop(values []LabelCount, top int) (kept []LabelCount, rest int64) {
	slices.SortFunc(values, func(a, b LabelCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Label, b.Label))
	})
	for i, v := range values {
		if i < top {
			values[i].Label = strings.Clone(v.Label)
		} else {
			rest += v.Count
		}
	}
	return values[:min(top, len(values))], rest
}

// labelValue makes a value from alert data a label value: valid UTF-8, at
// most maxLabelRunes, "unknown" when empty.
func labelValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) > maxLabelRunes {
		s = string([]rune(s)[:maxLabelRunes])
	}
	if s == "" {
		return labelUnknown
	}
	return s
}
