package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// admitPods runs the production webhook handler (cache, handler, HTTP layer)
// behind TLS on loopback and sends one AdmissionReview per image, the way the
// kube-apiserver would. The first pod must be admitted and pinned, the
// others denied.
func admitPods(ctx context.Context, p *policy.Policy, images []string) error {
	h := &enforce.Handler{Decider: enforce.NewCache(verify.New(), enforce.CacheConfig{}), Policy: func() *policy.Policy { return p }}
	srv := httptest.NewTLSServer(&enforce.Webhook{Handler: h})
	defer srv.Close()
	for i, image := range images {
		name := []string{"web", "web-unsigned", "web-tampered"}[i]
		resp, err := review(srv, name, image)
		if err != nil {
			return err
		}
		if resp.Allowed != (i == 0) {
			return fmt.Errorf("pod %s: allowed=%v, expected %v: %+v", name, resp.Allowed, i == 0, resp.Result)
		}
		if resp.Allowed {
			var patch []struct{ Path, Value string }
			if err := json.Unmarshal(resp.Patch, &patch); err != nil || len(patch) != 1 {
				return fmt.Errorf("pod %s: expected one pinning patch, got %s", name, resp.Patch)
			}
			fmt.Printf("\n    ALLOW pod %s\n      %s -> %s\n", name, patch[0].Path, patch[0].Value)
			continue
		}
		fmt.Printf("\n    DENY  pod %s (HTTP 200, AdmissionResponse allowed=false, code %d)\n%s\n", name, resp.Result.Code, indent(resp.Result.Message))
	}
	return nil
}

func review(srv *httptest.Server, name, image string) (*admissionv1.AdmissionResponse, error) {
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}
	raw, err := json.Marshal(pod)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: types.UID("demo-" + name), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Namespace: "prod", Name: name, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	})
	if err != nil {
		return nil, err
	}
	resp, err := srv.Client().Post(srv.URL+"/mutate", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("webhook answered %d: %s", resp.StatusCode, data)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &out); err != nil || out.Response == nil {
		return nil, fmt.Errorf("webhook answer is not an AdmissionReview: %s", data)
	}
	return out.Response, nil
}
