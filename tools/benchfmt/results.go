package main

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

type key struct{ bench, unit string }

// results holds every run's value of every metric, in first-seen order.
type results struct {
	runs  map[key][]float64
	order []key
	cpu   string
}

// parse reads benchmark lines ("BenchmarkX-2  N  v unit  v unit ...").
// The -GOMAXPROCS suffix is dropped so targets name benchmarks as written.
func parse(in io.Reader) *results {
	r := &results{runs: map[key][]float64{}, cpu: "cpu unknown"}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			r.cpu = strings.TrimSpace(c)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := trimProcs(f[0])
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			k := key{name, f[i+1]}
			if _, seen := r.runs[k]; !seen {
				r.order = append(r.order, k)
			}
			r.runs[k] = append(r.runs[k], v)
		}
	}
	return r
}

// trimProcs drops go test's "-N" GOMAXPROCS suffix.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// median of one metric; ok is false when the benchmark did not run.
func (r *results) get(bench, unit string) (float64, bool) {
	k := key{bench, unit}
	if len(r.runs[k]) == 0 {
		return 0, false
	}
	return r.median(k), true
}

func (r *results) median(k key) float64 {
	v := slices.Clone(r.runs[k])
	slices.Sort(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

func format(unit string, v float64) string {
	if unit == "ns/op" {
		return time.Duration(v).String()
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
