// Command benchfmt reads `go test -bench` output on stdin and prints, for
// each benchmark, the median over its -count runs of every reported metric
// (ns/op and custom ones such as p99-ms or admissions/s), then the issues'
// performance targets with the value this run measured, then the machine's
// load. Medians, not means, and ratios taken inside one run: these machines
// are shared and noisy, and a figure measured on a loaded machine says so.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

func main() {
	r := parse(os.Stdin)
	write(os.Stdout, r, defaultTargets)
	writeMachine(os.Stdout, r.cpu)
}

// write prints the medians table and the targets table.
func write(w io.Writer, r *results, targets []target) {
	fmt.Fprintf(w, "%-56s %-16s %5s %14s\n", "benchmark", "metric", "runs", "median")
	for _, k := range r.order {
		fmt.Fprintf(w, "%-56s %-16s %5d %14s\n", k.bench, k.unit, len(r.runs[k]), format(k.unit, r.median(k)))
	}
	fmt.Fprintf(w, "\n%-58s %-14s %-12s %s\n", "target", "wanted", "measured", "")
	for _, t := range targets {
		v, ok := t.measure(r)
		got, verdict := "not run", ""
		if ok {
			got = t.format(v)
			verdict = "met"
			if !t.met(v) {
				verdict = "NOT MET"
			}
		}
		fmt.Fprintf(w, "%-58s %-14s %-12s %s\n", t.what, t.wanted(), got, verdict)
	}
}

// writeMachine says what the figures were measured on: the CPU go test
// reported, the cores, and the load averages at the end of the run (the
// 5- and 15-minute ones cover the run itself; a value well above 1 on a
// benchmark that uses one core means other work competed with it).
func writeMachine(w io.Writer, cpu string) {
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	fmt.Fprintf(w, "\nmachine: %d cores, %s; load average (1/5/15 min) at the end: %s\n", runtime.NumCPU(), cpu, load)
}
