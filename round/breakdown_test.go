package round

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestEnumBreakdownSeverity(t *testing.T) {
	tests := []struct {
		name    string
		buckets map[string]int64
		total   int64
		want    []LabelCount
	}{
		{
			name:    "declared values zero-filled",
			buckets: map[string]int64{"3": 4},
			total:   4,
			want:    []LabelCount{{"low", 0}, {"medium", 0}, {"high", 4}},
		},
		{
			name:    "labels as keys (severityLabel.keyword)",
			buckets: map[string]int64{"High": 2, "Low": 1, "Medium": 5},
			total:   8,
			want:    []LabelCount{{"low", 1}, {"medium", 5}, {"high", 2}},
		},
		{
			name:    "odd keys and missing field become unknown",
			buckets: map[string]int64{"1": 1, "7": 2, "": 1},
			total:   10,
			want:    []LabelCount{{"low", 1}, {"medium", 0}, {"high", 0}, {"unknown", 9}},
		},
		{
			name:    "nothing at all",
			buckets: map[string]int64{},
			total:   0,
			want:    []LabelCount{{"low", 0}, {"medium", 0}, {"high", 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := enumBreakdown(tc.buckets, severityValues, severityLabel, tc.total)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEnumBreakdownStatus(t *testing.T) {
	got := enumBreakdown(map[string]int64{"1": 1, "2": 20, "3": 3, "4": 4, "5": 5, "9": 9}, statusValues, statusLabel, 42)
	want := []LabelCount{{"automatic_review", 1}, {"open", 20}, {"in_review", 3}, {"completed", 5}, {"ignored", 4}, {"unknown", 9}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCountryBreakdown(t *testing.T) {
	buckets := map[string]int64{"US": 50, "CN": 30, "RU": 30, "BR": 5, "DE": 4, "": 2, strings.Repeat("X", 65): 1, "A\x01": 1}
	got := countryBreakdown(buckets, 3, 140)
	want := []LabelCount{
		{"US", 50}, {"CN", 30}, {"RU", 30}, // ties broken by code
		{"other", 9},    // BR + DE
		{"unknown", 21}, // 4 odd keys + 17 alerts without the field
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	var sum int64
	for _, c := range got {
		sum += c.Count
	}
	if sum != 140 {
		t.Fatalf("country values sum to %d, want the total 140", sum)
	}
}

func TestCountryBreakdownAlwaysHasOtherAndUnknown(t *testing.T) {
	got := countryBreakdown(map[string]int64{}, 20, 0)
	want := []LabelCount{{"other", 0}, {"unknown", 0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// BenchmarkCountryBreakdown is the top-20 cut of n country buckets.
func BenchmarkCountryBreakdown(b *testing.B) {
	for _, n := range []int{30, 100, 250} {
		buckets := make(map[string]int64, n)
		var sum int64
		for i := range n {
			c := int64(5000/(i+1) + 1)
			buckets[fmt.Sprintf("%c%c", 'A'+i/26%26, 'A'+i%26)] = c
			sum += c
		}
		b.Run("countries="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out := countryBreakdown(buckets, 20, sum+7); len(out) != 22 {
					b.Fatalf("%d series, want 22", len(out))
				}
			}
		})
	}
}
