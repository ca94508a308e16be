// Command benchfmt reads `go test -bench` output on stdin and prints, for
// each benchmark, the median over its -count runs of every reported metric
// (ns/op and custom ones such as p99-ms or admissions/s): the figures the
// issues quote. Medians, not means: these machines are shared and noisy.
package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	type key struct{ bench, unit string }
	runs := map[key][]float64{}
	var order []key
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			k := key{f[0], f[i+1]}
			if _, seen := runs[k]; !seen {
				order = append(order, k)
			}
			runs[k] = append(runs[k], v)
		}
	}
	fmt.Printf("%-48s %-14s %5s %14s\n", "benchmark", "metric", "runs", "median")
	for _, k := range order {
		v := runs[k]
		slices.Sort(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		val := strconv.FormatFloat(med, 'f', -1, 64)
		if k.unit == "ns/op" {
			val = time.Duration(med).String()
		}
		fmt.Printf("%-48s %-14s %5d %14s\n", k.bench, k.unit, len(v), val)
	}
}
