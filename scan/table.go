package scan

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable renders the report for a terminal: one row per workload,
// container and digest (a Deployment's replicas that run the same digest
// are one row), then the summary. The JSON form has every finding.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tWORKLOAD\tCONTAINER\tDIGEST\tDECISION\tREASON")
	type row struct {
		f    Finding
		pods int
	}
	var rows []*row
	seen := map[string]*row{}
	for _, f := range r.Findings {
		key := strings.Join([]string{f.Namespace, workload(f), f.Container, f.Digest, string(f.Result), f.Reason}, "\x00")
		if f.Workload == "" {
			key += "\x00" + f.Pod
		}
		if rw := seen[key]; rw != nil {
			rw.pods++
			continue
		}
		seen[key] = &row{f: f, pods: 1}
		rows = append(rows, seen[key])
	}
	for _, rw := range rows {
		wl := workload(rw.f)
		if rw.pods > 1 {
			wl += fmt.Sprintf(" (%d pods)", rw.pods)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", rw.f.Namespace, wl, rw.f.Container, shortDigest(rw.f.Digest), decision(rw.f), oneLine(rw.f.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	verdict := "nothing that runs would be denied"
	if r.Denied {
		verdict = fmt.Sprintf("%d images that run would be denied in enforce mode", s.Fail+s.Error)
	}
	_, err := fmt.Fprintf(w, "\n%d pass, %d fail, %d error, %d skip under policy %s: %s\n", s.Pass, s.Fail, s.Error, s.Skip, shortHash(r.PolicyHash), verdict)
	return err
}

func workload(f Finding) string {
	if f.Workload != "" {
		return f.Workload
	}
	return "Pod/" + f.Pod
}

func decision(f Finding) string {
	if f.Result == Fail && f.Mode == "audit" {
		return "fail (audit)"
	}
	return string(f.Result)
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	if d == "" {
		return "-"
	}
	return d
}

func shortHash(h string) string {
	if len(h) > 19 {
		return h[:19]
	}
	return h
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
