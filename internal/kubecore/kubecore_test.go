package kubecore

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestListsCoreV1 checks the wire protocol against an apiserver-shaped
// handler: the paths and list parameters (namespace, limit, continue) the
// audit pages with, JSON decoding into core/v1 types, and an apiserver
// Status error surfacing with its message. TestReportsOnRealAPIServer (e2e)
// runs sign audit through this client against a real kube-apiserver.
func TestListsCoreV1(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path+"?"+r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/namespaces/payments/pods":
			json.NewEncoder(w).Encode(corev1.PodList{ListMeta: metav1.ListMeta{Continue: "next"},
				Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: "payments"}}}})
		case "/api/v1/namespaces":
			json.NewEncoder(w).Encode(corev1.NamespaceList{Items: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "payments", Labels: map[string]string{"tier": "prod"}}}}})
		default:
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure",
				Message: `pods is forbidden: User "ci" cannot list resource "pods" at the cluster scope`, Reason: metav1.StatusReasonForbidden, Code: 403})
		}
	}))
	defer srv.Close()
	c, err := New(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pods, err := c.Pods(ctx, "payments", metav1.ListOptions{Limit: 500, Continue: "page2"})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Name != "api-1" || pods.Continue != "next" {
		t.Fatalf("pods: %v %+v", err, pods)
	}
	if want := "/api/v1/namespaces/payments/pods?continue=page2&limit=500"; asked[0] != want {
		t.Errorf("asked %s, want %s", asked[0], want)
	}
	nss, err := c.Namespaces(ctx, metav1.ListOptions{})
	if err != nil || len(nss.Items) != 1 || nss.Items[0].Labels["tier"] != "prod" {
		t.Fatalf("namespaces: %v %+v", err, nss)
	}
	if _, err := c.Pods(ctx, "", metav1.ListOptions{}); err == nil || !strings.Contains(err.Error(), `cannot list resource "pods"`) {
		t.Fatalf("a 403 Status must be an error with its message, got %v", err)
	}
}
