package enforce

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// basicAuth makes a registry demand user:pass, like a private registry.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestPullSecretsReachOnlyTheirRegistry: a private registry is verified with
// the pod's (and its service account's) pull secrets, without them the
// image is denied, and another registry never sees the credential.
func TestPullSecretsReachOnlyTheirRegistry(t *testing.T) {
	private := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: basicAuth("ci", "s3cret")})
	// Push and sign with credentials, as CI would.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var sawAuth atomic.Bool
	other := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				sawAuth.Store(true)
			}
			h.ServeHTTP(w, r)
		})
	}})
	img := privatePush(t, private)
	vendorImg := other.Ref("vendor/db:7")
	other.Push("vendor/db:7")

	policyText := strings.ReplaceAll(enforcePolicy, "REGISTRY/vendor/**", other.Registry+"/vendor/**")
	policyText = strings.ReplaceAll(policyText, "REGISTRY", private.Registry)
	private.SetPolicy(policyText)
	p, err := policy.LoadFile(private.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	secret := dockerConfigSecret("regcred", `{"auths":{"`+private.Registry+`":{"username":"ci","password":"s3cret"}}}`)
	secret.Namespace = "prod"
	saSecret := dockerConfigSecret("sa-cred", `{"auths":{"`+private.Registry+`":{"username":"ci","password":"s3cret"}}}`)
	saSecret.Namespace = "prod"
	client := fake.NewSimpleClientset(secret, saSecret,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: "prod"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "sa-cred"}}})
	h := &Handler{Decider: verify.New().Flow(), Policy: func() *policy.Policy { return p }, Credentials: (&PullSecrets{Client: client}).Keychain}

	cases := []struct {
		name  string
		spec  corev1.PodSpec
		allow bool
	}{
		{"pod pull secret unlocks the private registry", corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
			Containers: []corev1.Container{{Name: "app", Image: img}, {Name: "db", Image: vendorImg}}}, true},
		{"service account pull secret unlocks the private registry", corev1.PodSpec{ServiceAccountName: "builder",
			Containers: []corev1.Container{{Name: "app", Image: img}}}, true},
		{"without credentials the private image is denied", corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img}}}, false},
		{"a missing secret is skipped and the image denied", corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "nope"}},
			Containers: []corev1.Container{{Name: "app", Image: img}}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := h.Mutate(context.Background(), request(t, "Pod", "prod", &corev1.Pod{Spec: c.spec}, admissionv1.Create, ""))
			if resp.Allowed != c.allow {
				t.Fatalf("allowed=%v, want %v: %+v", resp.Allowed, c.allow, resp.Result)
			}
			if !c.allow && !strings.Contains(resp.Result.Message, "UNAUTHORIZED") {
				t.Fatalf("denial does not show the registry's answer: %s", resp.Result.Message)
			}
		})
	}
	if sawAuth.Load() {
		t.Fatal("the private registry's credential was sent to another registry")
	}
}

// privatePush pushes and signs an image in a registry that needs auth.
func privatePush(t *testing.T, w *testworld.World) string {
	t.Helper()
	cfg := `{"auths":{"` + w.Registry + `":{"username":"ci","password":"s3cret"}}}`
	writeFile(t, filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"), cfg)
	d := w.Push("acme/app:1.0")
	w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	return w.Ref("acme/app:1.0")
}

// TestCachedAdmissionsDoNotReadPullSecrets: pull secrets are read only when a
// registry call needs credentials, so an admission answered from the cache
// makes no API server calls at all (admission's hot path).
func TestCachedAdmissionsDoNotReadPullSecrets(t *testing.T) {
	f := newFixture(t)
	secret := dockerConfigSecret("regcred", `{"auths":{"`+f.w.Registry+`":{"username":"u","password":"p"}}}`)
	secret.Namespace = "prod"
	client := fake.NewSimpleClientset(secret)
	h := &Handler{Decider: NewCache(verify.New(), CacheConfig{}), Policy: func() *policy.Policy { return f.p },
		Credentials: (&PullSecrets{Client: client}).Keychain}
	req := request(t, "Pod", "prod", &corev1.Pod{Spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
		Containers: []corev1.Container{{Name: "app", Image: f.signed}}}}, admissionv1.Create, "")
	if resp := h.Mutate(context.Background(), req); !resp.Allowed {
		t.Fatalf("denied: %+v", resp.Result)
	}
	first := len(client.Actions())
	if first == 0 {
		t.Fatal("the first admission never read the pull secrets it verified with")
	}
	for range 3 {
		if resp := h.Mutate(context.Background(), req); !resp.Allowed {
			t.Fatalf("denied: %+v", resp.Result)
		}
	}
	if got := len(client.Actions()); got != first {
		t.Fatalf("cached admissions made %d API calls", got-first)
	}
}
