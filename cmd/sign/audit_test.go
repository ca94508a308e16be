package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/test/testworld"
)

// fakeCluster is an apiserver that answers the two lists sign audit reads:
// every pod, and every namespace. (The real apiserver: e2e TestReportsOnRealAPIServer.)
func fakeCluster(t *testing.T, images ...string) string {
	t.Helper()
	pods := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for i, img := range images {
		pods.Items = append(pods.Items, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "shop", UID: "u"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: img}}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		})
	}
	namespaces := corev1.NamespaceList{TypeMeta: metav1.TypeMeta{Kind: "NamespaceList", APIVersion: "v1"},
		Items: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/pods":
			json.NewEncoder(w).Encode(pods)
		case "/api/v1/namespaces":
			json.NewEncoder(w).Encode(namespaces)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return kubeconfig(t, srv.URL)
}

func kubeconfig(t *testing.T, server string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: " + server + "}}]\n" +
		"users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAuditExitCodes: sign audit exits as every sign command does: 1 when
// a running image fails, 3 when none fails but one could not be verified
// or the cluster could not be read, 2 for a kubeconfig that cannot be used.
func TestAuditExitCodes(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	unsigned := w.Push("acme/app:unsigned")
	unreachable := closedAddr + "/acme/app@sha256:" + strings.Repeat("a", 64)
	w.SetPolicy(`apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities: [{name: k, key: {path: cosign.pub}}]
images: [{match: ["**"], signedBy: [k]}]
`)
	cases := []struct {
		name, kubeconfig string
		code             int
	}{
		{"an unsigned running image exits 1", fakeCluster(t, unsigned.String()), 1},
		{"an image that fails beside one that could not be verified exits 1", fakeCluster(t, unsigned.String(), unreachable), 1},
		{"an image that could not be verified, and none that fails, exits 3", fakeCluster(t, unreachable), 3},
		{"a cluster that cannot be reached exits 3", kubeconfig(t, "http://"+closedAddr), 3},
		{"a kubeconfig that is not there exits 2", filepath.Join(t.TempDir(), "none"), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := runSign(t, nil, "audit", "--offline", "-p", w.PolicyPath, "--kubeconfig", c.kubeconfig)
			if code != c.code {
				t.Fatalf("exit %d, want %d:\n%s%s", code, c.code, out, stderr)
			}
		})
	}
}
