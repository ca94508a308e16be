package background

import (
	"context"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/policyreport"
	"github.com/signet-dev/signet/scan"
)

// flush writes the reports of the touched namespaces ("" touches only the
// cluster summary) and the cluster summary. The writer skips reports whose
// content did not change, so a pass that found nothing new writes nothing.
func (t *term) flush(ctx context.Context, touched map[string]bool) {
	if len(touched) == 0 {
		return
	}
	p := t.s.cfg.Policy()
	name := policyreport.PolicyName(p.Source, p.Hash)
	byNS := map[string][]scan.Finding{}
	for _, st := range t.pods {
		byNS[st.namespace] = append(byNS[st.namespace], st.findings...)
	}
	w := t.s.cfg.Reports
	for ns := range touched {
		if ns == "" {
			continue // the cluster report, synced below
		}
		var rs []policyreport.Result
		for _, f := range byNS[ns] {
			rs = append(rs, policyreport.FromFinding(f, name))
		}
		if err := w.SyncNamespace(ctx, ns, rs); err != nil {
			t.s.cfg.Log.Error("background verifier: writing policy reports", "namespace", ns, "err", err)
			t.s.cfg.Metrics.reportError()
		}
	}
	var summary []policyreport.Result
	namespaces := make([]string, 0, len(byNS))
	for ns := range byNS {
		namespaces = append(namespaces, ns)
	}
	slices.Sort(namespaces)
	violations := map[string]int{}
	for _, ns := range namespaces {
		fs := byNS[ns]
		var newest metav1.Timestamp
		for _, f := range fs {
			if ts := f.DecidedAt.Unix(); ts > newest.Seconds {
				newest = metav1.Timestamp{Seconds: ts}
			}
		}
		s := scan.Summarize(fs)
		violations[ns] = s.Fail
		summary = append(summary, policyreport.NamespaceSummary(ns, s, name, newest))
	}
	if err := w.SyncCluster(ctx, summary); err != nil {
		t.s.cfg.Log.Error("background verifier: writing the cluster policy report", "err", err)
		t.s.cfg.Metrics.reportError()
	}
	t.s.cfg.Metrics.setViolations(violations)
}
