package policyreport

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/signet-dev/signet/scan"
	"github.com/signet-dev/signet/test/stack"
)

// TestReportsAreRewrittenFromTheirLiveContent: an edited report (its
// failures removed, anything it says about itself kept) is rewritten, on
// a real kube-apiserver: by a writer that starts after the edit (Load reads
// what the reports hold), and by a running writer, whose Watch reports the
// edit; a deleted report is recreated, and a report carrying signet's
// label that signet did not write is deleted.
func TestReportsAreRewrittenFromTheirLiveContent(t *testing.T) {
	_, dyn := apiServer(t, "prod", "other")
	ctx := t.Context()
	if err := stack.InstallCRDs(ctx, dyn, chartCRDs...); err != nil {
		t.Fatal(err)
	}
	want := results(findings("prod", 10))
	w := &Writer{Client: dyn}
	if err := w.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.SyncNamespace(ctx, "prod", want); err != nil {
		t.Fatal(err)
	}

	t.Run("a writer started after an edit rewrites it", func(t *testing.T) {
		hideFailures(t, dyn)
		after := &Writer{Client: dyn}
		if err := after.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if err := after.SyncNamespace(ctx, "prod", want); err != nil {
			t.Fatal(err)
		}
		checkHolds(t, dyn, want)
	})

	stale := make(chan string, 16)
	if err := w.Watch(ctx, func(ns string) { stale <- ns }); err != nil {
		t.Fatal(err)
	}
	resync := func(t *testing.T, what string) {
		t.Helper()
		select {
		case ns := <-stale:
			if ns != "prod" {
				t.Fatalf("%s: namespace %q reported stale, want prod", what, ns)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the watch never reported it", what)
		}
		if err := w.SyncNamespace(ctx, "prod", want); err != nil {
			t.Fatal(err)
		}
		checkHolds(t, dyn, want)
	}
	t.Run("a running writer sees an edit and rewrites it", func(t *testing.T) {
		hideFailures(t, dyn)
		resync(t, "edit")
	})
	t.Run("a running writer sees a deletion and recreates the report", func(t *testing.T) {
		if err := dyn.Resource(PolicyReports).Namespace("prod").Delete(ctx, "signet-0", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		resync(t, "deletion")
	})
	t.Run("a report with signet's label that signet did not write is deleted", func(t *testing.T) {
		forged := Report{TypeMeta: metav1.TypeMeta{APIVersion: GroupVersion.String(), Kind: KindPolicyReport},
			ObjectMeta: metav1.ObjectMeta{Name: "signet-0", Namespace: "other", Labels: map[string]string{ManagedByLabel: ManagedBy}},
			Summary:    Summary{Pass: 1}, Results: []Result{results(findings("other", 1))[0]}}
		if err := w.apply(ctx, forged); err != nil {
			t.Fatal(err)
		}
		for ns := ""; ns != "other"; {
			select {
			case ns = <-stale:
			case <-time.After(30 * time.Second):
				t.Fatal("the watch never reported the forged report")
			}
		}
		if err := w.SyncNamespace(ctx, "other", nil); err != nil {
			t.Fatal(err)
		}
		if list, err := dyn.Resource(PolicyReports).Namespace("other").List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 0 {
			t.Fatalf("%v reports left in a namespace signet has no results for (%v)", len(list.Items), err)
		}
	})
}

// hideFailures edits prod's first report as someone hiding a failing image
// would: its results and summary say everything passes.
func hideFailures(t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	ri := dyn.Resource(PolicyReports).Namespace("prod")
	u, err := ri.Get(t.Context(), "signet-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Decode(u)
	if err != nil {
		t.Fatal(err)
	}
	var kept []any
	for i, r := range rep.Results {
		if r.Result == string(scan.Pass) {
			raw, _ := u.Object["results"].([]any)
			kept = append(kept, raw[i])
		}
	}
	u.Object["results"] = kept
	u.Object["summary"] = map[string]any{"pass": int64(len(kept))}
	if _, err := ri.Update(t.Context(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// checkHolds reads prod's reports back and compares them with want.
func checkHolds(t *testing.T, dyn dynamic.Interface, want []Result) {
	t.Helper()
	list, err := dyn.Resource(PolicyReports).Namespace("prod").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []Result
	for i := range list.Items {
		r, err := Decode(&list.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Results...)
	}
	if g, w := canonical(t, got), canonical(t, chunkAll(want)); g != w {
		t.Errorf("the reports were not rewritten:\n got %s\nwant %s", g, w)
	}
}
