// Command benchfmt reads `go test -bench` output on stdin and prints the
// median of each benchmark's ns/op over its -count runs, the figure the
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
	runs := map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if f[i+1] != "ns/op" {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if _, seen := runs[f[0]]; !seen {
				order = append(order, f[0])
			}
			runs[f[0]] = append(runs[f[0]], v)
		}
	}
	fmt.Printf("%-60s %6s %14s\n", "benchmark", "runs", "median")
	for _, name := range order {
		v := runs[name]
		slices.Sort(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		fmt.Printf("%-60s %6d %14s\n", name, len(v), time.Duration(med).String())
	}
}
