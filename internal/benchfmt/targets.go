package main

import (
	"fmt"
	"strconv"
)

// target is one figure an issue asks for: a metric of one benchmark, or
// the ratio of two benchmarks' ns/op measured in the same run.
type target struct {
	what  string
	bench string // the metric's benchmark, or the ratio's numerator
	unit  string
	per   string // when set, the value is bench's unit over per's
	atMost,
	atLeast float64
}

func (t target) measure(r *results) (float64, bool) {
	v, ok := r.get(t.bench, t.unit)
	if !ok || t.per == "" {
		return v, ok
	}
	d, ok := r.get(t.per, t.unit)
	if !ok || d == 0 {
		return 0, false
	}
	return v / d, true
}

// format renders a measured value: a ratio as "2.31x", a metric in its unit.
func (t target) format(v float64) string {
	if t.per != "" {
		return strconv.FormatFloat(v, 'f', 2, 64) + "x"
	}
	return format(t.unit, v)
}

func (t target) met(v float64) bool {
	if t.atLeast != 0 {
		return v >= t.atLeast
	}
	return v <= t.atMost
}

func (t target) wanted() string {
	unit := t.unit
	if t.per != "" {
		unit = "x"
	}
	if t.unit == "ns/op" && t.per == "" {
		return fmt.Sprintf("<= %s", format("ns/op", t.atMost))
	}
	if t.atLeast != 0 {
		return ">= " + strconv.FormatFloat(t.atLeast, 'f', -1, 64) + " " + unit
	}
	return "<= " + strconv.FormatFloat(t.atMost, 'f', -1, 64) + " " + unit
}

// defaultTargets are issue 13's targets, by the benchmarks that measure them.
var defaultTargets = []target{}
