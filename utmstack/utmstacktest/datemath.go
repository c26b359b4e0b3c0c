package utmstacktest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// OpenSearch date parsing as range, term and match queries on a date field
// see it: the default format strict_date_optional_time||epoch_millis, date
// math ("now-7d", "2025-01-01||+1M/d") with units y M w d h H m s, all in
// UTC. roundUp is how lte/gt (and the upper end of a term) treat missing
// precision: "2025-01-01" or "now/d" then mean the last millisecond of the
// day.

var dateRE = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$`)

var epochRE = regexp.MustCompile(`^-?\d+$`)

// parseDateString parses an absolute date. unit is the date math unit of
// its least significant field ("" when it has a fraction or is epoch millis).
func parseDateString(s string) (t time.Time, unit string, err error) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		if epochRE.MatchString(s) {
			ms, err := strconv.ParseInt(s, 10, 64)
			if err == nil {
				return time.UnixMilli(ms).UTC(), "", nil
			}
		}
		return time.Time{}, "", fmt.Errorf("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]", s)
	}
	num := func(i, def int) int {
		if m[i] == "" {
			return def
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	year, month, day := num(1, 0), num(2, 1), num(3, 1)
	hour, minute, sec := num(4, 0), num(5, 0), num(6, 0)
	nsec := 0
	if m[7] != "" {
		nsec, _ = strconv.Atoi((m[7] + "00000000")[:9])
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" {
		digits := strings.ReplaceAll(z[1:], ":", "")
		h, _ := strconv.Atoi(digits[:2])
		mi := 0
		if len(digits) == 4 {
			mi, _ = strconv.Atoi(digits[2:])
		}
		off := h*3600 + mi*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone(z, off)
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Month() != time.Month(month) || t.Day() != day || t.Hour() != hour || t.Minute() != minute || t.Second() != sec {
		return time.Time{}, "", fmt.Errorf("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]: value out of range", s)
	}
	switch {
	case m[7] != "":
		unit = ""
	case m[6] != "":
		unit = "s"
	case m[5] != "":
		unit = "m"
	case m[4] != "":
		unit = "h"
	case m[3] != "":
		unit = "d"
	case m[2] != "":
		unit = "M"
	default:
		unit = "y"
	}
	return t.UTC(), unit, nil
}

// parseDateMath resolves a date or date math expression against now.
func parseDateMath(expr string, now time.Time, roundUp bool) (time.Time, error) {
	var t time.Time
	var math string
	switch {
	case strings.HasPrefix(expr, "now"):
		t, math = now.UTC().Truncate(time.Millisecond), expr[3:]
	case strings.Contains(expr, "||"):
		anchor, rest, _ := strings.Cut(expr, "||")
		var err error
		if t, _, err = parseDateString(anchor); err != nil {
			return time.Time{}, err
		}
		math = rest
	default:
		t, unit, err := parseDateString(expr)
		if err != nil {
			return time.Time{}, err
		}
		if roundUp && unit != "" {
			t = addUnit(t, unit, 1).Add(-time.Millisecond)
		}
		return t, nil
	}
	return applyDateMath(expr, t, math, roundUp)
}

func applyDateMath(expr string, t time.Time, math string, roundUp bool) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("failed to parse date field [%s]: %s", expr, why)
	}
	for i := 0; i < len(math); {
		op := math[i]
		i++
		if op != '+' && op != '-' && op != '/' {
			return bad(fmt.Sprintf("operator not supported for date math [%s]", math))
		}
		n := 1
		if op != '/' {
			j := i
			for j < len(math) && math[j] >= '0' && math[j] <= '9' {
				j++
			}
			if j > i {
				n, _ = strconv.Atoi(math[i:j])
			}
			i = j
		}
		if i >= len(math) {
			return bad(fmt.Sprintf("truncated date math [%s]", math))
		}
		unit := string(math[i])
		i++
		if !strings.Contains("yMwdhHms", unit) { //nolint:gocritic // argOrder misfires: the unit is looked up in the set of units
			return bad(fmt.Sprintf("unit [%s] not supported for date math [%s]", unit, math))
		}
		switch op {
		case '/':
			t = truncateUnit(t, unit)
			if roundUp {
				t = addUnit(t, unit, 1).Add(-time.Millisecond)
			}
		case '+':
			t = addUnit(t, unit, n)
		case '-':
			t = addUnit(t, unit, -n)
		}
	}
	return t, nil
}

func addUnit(t time.Time, unit string, n int) time.Time {
	switch unit {
	case "y":
		return addMonths(t, 12*n)
	case "M":
		return addMonths(t, n)
	case "w":
		return t.AddDate(0, 0, 7*n)
	case "d":
		return t.AddDate(0, 0, n)
	case "h", "H":
		return t.Add(time.Duration(n) * time.Hour)
	case "m":
		return t.Add(time.Duration(n) * time.Minute)
	case "s":
		return t.Add(time.Duration(n) * time.Second)
	}
	return t
}

// addMonths clamps the day of month like java.time's plusMonths
// (Jan 31 + 1M = Feb 28), where Go's AddDate would overflow into March.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location()).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1)
}

func truncateUnit(t time.Time, unit string) time.Time {
	y, mo, d := t.Date()
	switch unit {
	case "y":
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case "M":
		return time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
	case "w": // ISO weeks start on Monday
		back := (int(t.Weekday()) + 6) % 7
		return time.Date(y, mo, d-back, 0, 0, 0, 0, time.UTC)
	case "d":
		return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	case "h", "H":
		return time.Date(y, mo, d, t.Hour(), 0, 0, 0, time.UTC)
	case "m":
		return time.Date(y, mo, d, t.Hour(), t.Minute(), 0, 0, time.UTC)
	case "s":
		return time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	}
	return t
}
