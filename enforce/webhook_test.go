package enforce

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

func review(t testing.TB, req *admissionv1.AdmissionRequest) []byte {
	b, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(wh http.Handler, path, ctype string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", ctype)
	rec := httptest.NewRecorder()
	wh.ServeHTTP(rec, r)
	return rec
}

func TestWebhookHTTP(t *testing.T) {
	f := newFixture(t)
	wh := &Webhook{Handler: f.h}
	good := review(t, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, ""))

	rec := post(wh, "/mutate", "application/json", good)
	var out admissionv1.AdmissionReview
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Response == nil {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	if !out.Response.Allowed || out.Response.UID != "uid-1" || out.Response.Patch == nil || out.APIVersion != "admission.k8s.io/v1" {
		t.Fatalf("bad response %+v", out)
	}

	for name, c := range map[string]struct {
		path, ctype string
		body        []byte
		code        int
	}{
		"malformed JSON":      {"/validate", "application/json", []byte("{not json"), 400},
		"no request":          {"/validate", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), 400},
		"wrong API version":   {"/validate", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`), 400},
		"wrong content type":  {"/validate", "text/plain", good, 415},
		"unknown path":        {"/other", "application/json", good, 404},
		"body over the limit": {"/validate", "application/json", append([]byte(`{"apiVersion":"`), bytes.Repeat([]byte("a"), MaxRequestBytes+10)...), 413},
	} {
		t.Run(name, func(t *testing.T) {
			if rec := post(wh, c.path, c.ctype, c.body); rec.Code != c.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.code, rec.Body)
			}
		})
	}
	t.Run("GET is refused", func(t *testing.T) {
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/validate", nil))
		if rec.Code != 405 {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

func TestWebhookDeadlineFollowsApiserverTimeout(t *testing.T) {
	wh := &Webhook{Deadline: 9 * time.Second}
	for q, want := range map[string]time.Duration{"": 9 * time.Second, "?timeout=5s": 4 * time.Second, "?timeout=30s": 9 * time.Second, "?timeout=2s": 1600 * time.Millisecond} {
		if got := wh.deadline(httptest.NewRequest(http.MethodPost, "/validate"+q, nil)); got != want {
			t.Errorf("%q: deadline %s, want %s", q, got, want)
		}
	}
}

// FuzzWebhook: any body gets a 200 with a response or a 4xx; never a panic,
// never an allow for an object whose images could not be read, and no input
// admits an image the decider denies.
func FuzzWebhook(f *testing.F) {
	p, err := policy.Parse([]byte("apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages: [{match: ['**'], deny: fuzz}]\n"))
	if err != nil {
		f.Fatal(err)
	}
	wh := &Webhook{Handler: &Handler{Decider: denyAll{}, Policy: func() *policy.Policy { return p }}}
	f.Add(review(f, &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Kind: "Pod"}, Operation: admissionv1.Create, Object: rawPod(`{"spec":{"containers":[{"name":"a","image":"x"}]}}`)}))
	f.Add(review(f, &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Kind: "CronJob"}, Operation: admissionv1.Create, Object: rawPod(`{"spec":{"jobTemplate":{"spec":null}}}`)}))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":[1,2]}}`))
	f.Add(review(f, &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Kind: "Pod"}, Operation: admissionv1.Update, Namespace: "prod",
		Object: rawPod(`{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}}`), OldObject: rawPod(`{"spec":{"containers":[{"name":"a","image":"x"}]}}`)}))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := post(wh, "/validate", "application/json", body)
		if rec.Code != 200 {
			if rec.Code < 400 || rec.Code >= 500 {
				t.Fatalf("status %d", rec.Code)
			}
			return
		}
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
			t.Fatalf("200 without a response: %s", rec.Body)
		}
		if out.Response.Allowed && strings.Contains(string(body), `"image"`) && out.Response.Result != nil {
			t.Fatalf("allowed with a failure result: %+v", out.Response)
		}
		if decides(body) && out.Response.Allowed {
			t.Fatalf("admitted a CREATE with images every one of which the decider denies: %s", body)
		}
	})
}

// decides reports whether body is a CREATE of a kind signet checks whose
// object has at least one image: with a decider that denies every image,
// such a review can only be denied.
func decides(body []byte) bool {
	var in admissionv1.AdmissionReview
	if json.Unmarshal(body, &in) != nil || in.Request == nil {
		return false
	}
	r := in.Request
	if r.Operation != admissionv1.Create || r.SubResource != "" || !SupportedKind(r.Kind.Kind) {
		return false
	}
	w, err := ExtractWorkload(r.Kind.Kind, r.Object.Raw, false)
	return err == nil && len(w.Images) > 0
}

// FuzzExtractImages: extraction never panics on any object of any kind.
func FuzzExtractImages(f *testing.F) {
	f.Add("Pod", []byte(`{"spec":{"containers":[{"image":"a"}],"volumes":[{"name":"v","image":{"reference":"b"}}]}}`), false)
	f.Add("CronJob", []byte(`{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"initContainers":[{"image":"c"}]}}}}}}`), true)
	f.Fuzz(func(t *testing.T, kind string, raw []byte, eph bool) {
		w, err := ExtractWorkload(kind, raw, eph)
		if err == nil {
			for _, i := range w.Images {
				if !strings.HasPrefix(i.Pointer, "/spec/") {
					t.Fatalf("pointer %q outside the spec", i.Pointer)
				}
			}
		}
	})
}

type denyAll struct{}

func (denyAll) Decide(_ context.Context, req verify.Request) *verify.Decision {
	return &verify.Decision{Image: req.Image, PolicyHash: req.Policy.Hash, Reasons: []verify.Reason{verify.NewReason("test", "denied by fuzz decider")}}
}

func rawPod(s string) runtime.RawExtension { return runtime.RawExtension{Raw: []byte(s)} }
