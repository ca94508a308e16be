package policyreport

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/signet-dev/signet/scan"
	"github.com/signet-dev/signet/test/stack"
)

var chartCRDs = []string{
	"../deploy/charts/signet-enforce/crds/wgpolicyk8s.io_policyreports.yaml",
	"../deploy/charts/signet-enforce/crds/wgpolicyk8s.io_clusterpolicyreports.yaml",
}

// TestReportsOnRealAPIServer writes every kind of report signet writes
// (every outcome, bounded messages, several chunks, the cluster summary)
// through a real kube-apiserver with strict field validation, first under
// the chart's CRDs and then under Kyverno's, and reads each back unchanged:
// nothing refused, nothing pruned. `kubectl get polr -A` (the apiserver's
// table view) shows the counts.
func TestReportsOnRealAPIServer(t *testing.T) {
	cfg, dyn := apiServer(t, "prod")
	ctx := t.Context()
	kyverno, err := stack.KyvernoReportCRDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files []string
	}{{"the chart's CRDs", chartCRDs}, {"Kyverno's CRDs", kyverno}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := stack.InstallCRDs(ctx, dyn, tc.files...); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := stack.DeleteCRDs(context.Background(), dyn, "policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io"); err != nil {
					t.Error(err)
				}
			})
			checkRoundTrip(t, ctx, cfg, dyn)
		})
	}
}

func checkRoundTrip(t *testing.T, ctx context.Context, cfg *rest.Config, dyn dynamic.Interface) {
	w := &Writer{Client: dyn, Limits: Limits{MaxResults: 4}}
	if err := w.Load(ctx); err != nil {
		t.Fatal(err)
	}
	fs := findings("prod", 10)
	want := results(fs)
	if err := w.SyncNamespace(ctx, "prod", want); err != nil {
		t.Fatalf("the apiserver refused a report: %v", err)
	}
	summary := NamespaceSummary("prod", scan.Summarize(fs), want[0].Policy, want[0].Timestamp)
	if err := w.SyncCluster(ctx, []Result{summary}); err != nil {
		t.Fatalf("the apiserver refused the cluster report: %v", err)
	}
	list, err := dyn.Resource(PolicyReports).Namespace("prod").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 {
		t.Fatalf("%d reports for 10 results of at most 4 each, want 3", len(list.Items))
	}
	var got []Result
	for i := range list.Items {
		r, err := Decode(&list.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		if r.Summary != summarize(r.Results) {
			t.Errorf("%s: summary %+v does not count its results", r.Name, r.Summary)
		}
		got = append(got, r.Results...)
	}
	if g, w := canonical(t, got), canonical(t, chunkAll(want)); g != w {
		t.Errorf("results read back differ from those written (pruned or changed by the CRD):\n got %s\nwant %s", g, w)
	}
	cu, err := dyn.Resource(ClusterPolicyReports).Get(ctx, "signet-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cr, _ := Decode(cu); len(cr.Results) != 1 || !reflect.DeepEqual(cr.Results[0], summary) {
		t.Errorf("cluster report read back: %+v, want %+v", cr.Results, summary)
	}
	checkTable(t, ctx, cfg)

	writes := w.Writes.Load()
	if err := w.SyncNamespace(ctx, "prod", want); err != nil {
		t.Fatal(err)
	}
	if w.Writes.Load() != writes {
		t.Error("unchanged results were written again")
	}
	if err := w.SyncNamespace(ctx, "prod", nil); err != nil {
		t.Fatal(err)
	}
	if err := w.SyncCluster(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if list, _ := dyn.Resource(PolicyReports).Namespace("prod").List(ctx, metav1.ListOptions{}); len(list.Items) != 0 {
		t.Errorf("%d reports left after their results went away", len(list.Items))
	}
}

// checkTable asks for reports as `kubectl get polr -A` does (a Table) and
// finds signet's counts in its columns.
func checkTable(t *testing.T, ctx context.Context, cfg *rest.Config) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion, c.APIPath = &GroupVersion, "/apis"
	c.NegotiatedSerializer = noNegotiation{}
	rc, err := rest.UnversionedRESTClientFor(c)
	if err != nil {
		t.Fatal(err)
	}
	body, err := rc.Get().AbsPath("/apis/wgpolicyk8s.io/v1alpha2/policyreports").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if strings.Join(cols, ",") != "Name,Kind,Name,Pass,Fail,Warn,Error,Skip,Age" {
		t.Errorf("kubectl get polr columns %v", cols)
	}
	fails := 0
	for _, row := range table.Rows {
		fails += int(row.Cells[4].(float64))
	}
	if len(table.Rows) != 3 || fails != 4 {
		t.Errorf("kubectl get polr -A: %d rows with %d failures, want 3 rows, 4 failures", len(table.Rows), fails)
	}
}

func chunkAll(rs []Result) []Result {
	var out []Result
	for _, c := range chunk(rs, Limits{}) {
		out = append(out, c...)
	}
	return out
}

func canonical(t *testing.T, rs []Result) string {
	t.Helper()
	b, err := json.Marshal(chunkAll(rs))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
