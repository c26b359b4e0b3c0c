package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// result is one measure of one run, and its budget: "= 0", "≤ 2", "≥ 45",
// or "reported" when there is none.
type result struct {
	measure, unit string
	value         float64
	budget        string
}

// table holds every measure's values per exporter and run, in the order
// first seen.
type table struct {
	exporters int
	rows      []result
	values    [][][]float64 // per row, per exporter, per run
}

func (t *table) add(phase string, exporter int, rs []result) {
	for _, r := range rs {
		r.measure = phase + " | " + r.measure
		i := slices.IndexFunc(t.rows, func(w result) bool { return w.measure == r.measure })
		if i < 0 {
			i, t.rows, t.values = len(t.rows), append(t.rows, r), append(t.values, make([][]float64, t.exporters))
		}
		t.values[i][exporter] = append(t.values[i][exporter], r.value)
	}
}

func (t *table) print() {
	fmt.Print("| phase | measure | budget |")
	for i := range t.exporters {
		fmt.Printf(" %c |", 'A'+i)
	}
	fmt.Println("\n|---|---|---|" + strings.Repeat("---|", t.exporters))
	for i, r := range t.rows {
		budget := r.budget
		if budget != "reported" {
			budget += r.unit
		}
		fmt.Printf("| %s | %s |", r.measure, budget)
		for _, vs := range t.values[i] {
			fmt.Printf(" %s |", r.cell(vs))
		}
		fmt.Println()
	}
}

// cell is the median of one exporter's runs, their range, and whether the
// median meets the budget.
func (r result) cell(vs []float64) string {
	if len(vs) == 0 {
		return ""
	}
	slices.Sort(vs)
	m := (vs[(len(vs)-1)/2] + vs[len(vs)/2]) / 2
	s := num(m) + r.unit
	if lo, hi := num(vs[0]), num(vs[len(vs)-1]); lo != hi {
		s += fmt.Sprintf(" (%s–%s)", lo, hi)
	}
	op, limit, _ := strings.Cut(r.budget, " ")
	l, err := strconv.ParseFloat(limit, 64)
	switch {
	case err != nil:
		return s
	case op == "=" && m == l, op == "≤" && m <= l, op == "≥" && m >= l:
		return s + ", yes"
	}
	return s + ", **no**"
}

// num rounds to four significant digits.
func num(v float64) string {
	if v != 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
		p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(v))))
		v = math.Round(v*p) / p
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// p50 is the nearest-rank median of sorted durations, in ms.
func p50(sorted []time.Duration) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	return ms(sorted[(len(sorted)-1)/2])
}
