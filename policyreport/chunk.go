package policyreport

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
)

// Limits bound one report object. etcd refuses objects over 1.5 MiB and
// every watcher of reports receives each whole object on every change, so
// a large namespace is split into several reports rather than one big one.
type Limits struct {
	// MaxResults per report (default 200).
	MaxResults int
	// MaxBytes of results per report, as JSON (default 256 KiB).
	MaxBytes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxResults <= 0 {
		l.MaxResults = 200
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 256 << 10
	}
	return l
}

// Chunk names for the reports of one namespace, and of the cluster report.
func chunkName(i int) string { return fmt.Sprintf("signet-%d", i) }

// chunk sorts results (by resource, then container) and splits them into
// reports within l, each with its own summary. The order is stable, so an
// unchanged namespace produces byte-identical reports.
func chunk(results []Result, l Limits) [][]Result {
	l = l.withDefaults()
	sorted := slices.Clone(results)
	slices.SortFunc(sorted, func(a, b Result) int {
		return cmp.Or(cmp.Compare(resourceKey(a), resourceKey(b)), cmp.Compare(a.Properties["container"], b.Properties["container"]))
	})
	var out [][]Result
	var cur []Result
	size := 0
	for _, r := range sorted {
		b, _ := json.Marshal(r)
		if len(cur) > 0 && (len(cur) >= l.MaxResults || size+len(b) > l.MaxBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, r)
		size += len(b) + 1
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func resourceKey(r Result) string {
	if len(r.Resources) == 0 {
		return ""
	}
	o := r.Resources[0]
	return o.Namespace + "/" + o.Name + "/" + string(o.UID)
}

func summarize(results []Result) Summary {
	var s Summary
	for _, r := range results {
		s.add(r.Result)
	}
	return s
}
