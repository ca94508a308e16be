package enforce

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// readGate holds a registry's image reads (not its /v2/ ping) that match
// while it is armed, and says when it holds one: a test can keep one
// tenant's lookup in the air while another tenant's admission runs.
type readGate struct {
	mu      sync.Mutex
	match   func(*http.Request) bool
	release chan struct{}
	held    chan struct{}
}

func (g *readGate) arm(match func(*http.Request) bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.match, g.release, g.held = match, make(chan struct{}), make(chan struct{}, 1)
}

func (g *readGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.match != nil {
		close(g.release)
		g.match = nil
	}
}

func (g *readGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		hold := g.match != nil && r.URL.Path != "/v2/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && g.match(r)
		release, held := g.release, g.held
		g.mu.Unlock()
		if hold {
			select {
			case held <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (g *readGate) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-g.held:
	case <-time.After(10 * time.Second):
		t.Fatal("no registry read was held")
	}
}

func anonymous(r *http.Request) bool     { return r.Header.Get("Authorization") == "" }
func authenticated(r *http.Request) bool { return r.Header.Get("Authorization") != "" }

// tenants is a private registry (reads need ci:s3cret) holding a signed
// image, and two namespaces: team-a has a pull secret for it, team-b has
// none.
type tenants struct {
	gate   readGate
	image  string
	digest name.Digest
	p      *policy.Policy
	client *fake.Clientset
	// byTag and byDigest are each tenant's pod naming the image by its
	// tag, and by its digest.
	byTag, byDigest struct{ a, b *admissionv1.AdmissionRequest }
}

func newTenants(t *testing.T) *tenants {
	tn := &tenants{}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: func(h http.Handler) http.Handler {
		return tn.gate.wrap(basicAuth("ci", "s3cret")(h))
	}})
	tn.image = privatePush(t, w)
	w.SetPolicy(enforcePolicy)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	tn.p = p
	ref, err := name.ParseReference(tn.image)
	if err != nil {
		t.Fatal(err)
	}
	d, err := verify.New(verify.WithKeychain(authn.DefaultKeychain)).Resolve(context.Background(), verify.Subject{Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	tn.digest = d
	secret := dockerConfigSecret("regcred", `{"auths":{"`+w.Registry+`":{"username":"ci","password":"s3cret"}}}`)
	secret.Namespace = "team-a"
	tn.client = fake.NewSimpleClientset(secret)
	podA := func(image string) *admissionv1.AdmissionRequest {
		return request(t, "Pod", "team-a", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.PodSpec{
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}, Containers: []corev1.Container{{Name: "app", Image: image}}}}, admissionv1.Create, "")
	}
	podB := func(image string) *admissionv1.AdmissionRequest {
		return request(t, "Pod", "team-b", pod(podSpec(nil, []string{image})), admissionv1.Create, "")
	}
	tn.byTag.a, tn.byTag.b = podA(tn.image), podB(tn.image)
	tn.byDigest.a, tn.byDigest.b = podA(d.String()), podB(d.String())
	return tn
}

// handler is a fresh webhook handler with its own cache, reading pull
// secrets as enforce does.
func (tn *tenants) handler() *Handler {
	return &Handler{Decider: NewCache(verify.New(), CacheConfig{}), Policy: func() *policy.Policy { return tn.p },
		Credentials: (&PullSecrets{Client: tn.client}).Keychain}
}

func admitWithin(h *Handler, d time.Duration, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return h.Mutate(ctx, req) // the pass that resolves tags and pins them
}

func deniedFor(resp *admissionv1.AdmissionResponse, why string) bool {
	return !resp.Allowed && resp.Result != nil && strings.Contains(resp.Result.Message, why)
}

// TestSharedWorkCarriesOneTenantsCredentials: two tenants admit the same
// private image at once; team-a has a pull secret for its registry, team-b
// has none. Work in flight is shared only among requests with the same
// credentials, and a tag resolution is kept per credentials.
func TestSharedWorkCarriesOneTenantsCredentials(t *testing.T) {
	tn := newTenants(t)

	for _, form := range []struct {
		name string
		pods struct{ a, b *admissionv1.AdmissionRequest }
	}{{"by tag", tn.byTag}, {"by digest", tn.byDigest}} {
		a, b := form.pods.a, form.pods.b
		t.Run("an anonymous lookup in flight does not fail an authenticated admission, "+form.name, func(t *testing.T) {
			h := tn.handler()
			tn.gate.arm(anonymous)
			defer tn.gate.open()
			ch := make(chan *admissionv1.AdmissionResponse, 1)
			go func() { ch <- admitWithin(h, 20*time.Second, b) }()
			tn.gate.waitHeld(t)
			if resp := admitWithin(h, 5*time.Second, a); !resp.Allowed {
				t.Fatalf("team-a, with access, was denied while team-b's anonymous lookup was in flight: %s", resp.Result.Message)
			}
			tn.gate.open()
			if resp := <-ch; !deniedFor(resp, "UNAUTHORIZED") {
				t.Fatalf("team-b, without access, was not denied with the registry's 401: %+v", resp.Result)
			}
		})

		t.Run("a tenant without access does not ride on an authenticated lookup in flight, "+form.name, func(t *testing.T) {
			h := tn.handler()
			tn.gate.arm(authenticated)
			defer tn.gate.open()
			ch := make(chan *admissionv1.AdmissionResponse, 1)
			go func() { ch <- admitWithin(h, 20*time.Second, a) }()
			tn.gate.waitHeld(t)
			if resp := admitWithin(h, 5*time.Second, b); !deniedFor(resp, "UNAUTHORIZED") {
				t.Fatalf("team-b, without access, was not denied with its own 401 while team-a's lookup was in flight: %+v", resp.Result)
			}
			tn.gate.open()
			if resp := <-ch; !resp.Allowed {
				t.Fatalf("team-a, with access, was denied: %s", resp.Result.Message)
			}
		})

		t.Run("a 401 is never kept, so it does not deny a tenant with access, "+form.name, func(t *testing.T) {
			h := tn.handler()
			if resp := admitWithin(h, 10*time.Second, b); !deniedFor(resp, "UNAUTHORIZED") {
				t.Fatalf("team-b not denied: %+v", resp.Result)
			}
			if resp := admitWithin(h, 10*time.Second, a); !resp.Allowed {
				t.Fatalf("team-a was denied after team-b's 401: %s", resp.Result.Message)
			}
		})
	}

	t.Run("a tag resolved with one tenant's credentials does not answer another", func(t *testing.T) {
		h := tn.handler()
		if resp := admitWithin(h, 10*time.Second, tn.byTag.a); !resp.Allowed {
			t.Fatalf("team-a denied: %s", resp.Result.Message)
		}
		if resp := admitWithin(h, 10*time.Second, tn.byTag.b); !deniedFor(resp, "UNAUTHORIZED") {
			t.Fatalf("team-b was answered from team-a's tag resolution: %+v", resp.Result)
		}
	})

	t.Run("a kept decision about a digest answers every tenant: it depends on the digest, not on who asked", func(t *testing.T) {
		h := tn.handler()
		if resp := admitWithin(h, 10*time.Second, tn.byTag.a); !resp.Allowed {
			t.Fatalf("team-a denied: %s", resp.Result.Message)
		}
		// team-b names the digest itself; the kubelet pulls it with
		// team-b's own credentials, and fails without them.
		if resp := admitWithin(h, 10*time.Second, tn.byDigest.b); !resp.Allowed {
			t.Fatalf("team-b naming the verified digest was denied: %+v", resp.Result)
		}
	})

	t.Run("a keychain that cannot name its credentials shares no work and keeps no tag", func(t *testing.T) {
		cache := NewCache(verify.New(), CacheConfig{})
		pullSecrets := (&PullSecrets{Client: tn.client}).Keychain
		h := &Handler{Decider: cache, Policy: func() *policy.Policy { return tn.p },
			Credentials: func(ctx context.Context, ns string, w *Workload) (authn.Keychain, error) {
				kc, err := pullSecrets(ctx, ns, w)
				return opaqueKeychain{kc}, err
			}}
		tn.gate.arm(anonymous)
		defer tn.gate.open()
		ch := make(chan *admissionv1.AdmissionResponse, 1)
		go func() { ch <- admitWithin(h, 20*time.Second, tn.byTag.b) }()
		tn.gate.waitHeld(t)
		if resp := admitWithin(h, 5*time.Second, tn.byTag.a); !resp.Allowed {
			t.Fatalf("team-a was denied while team-b's lookup was in flight: %s", resp.Result.Message)
		}
		tn.gate.open()
		<-ch
		if n := cache.Tags.mem.len(); n != 0 {
			t.Fatalf("%d tag resolutions read with unnamed credentials were kept, where no later request can find them", n)
		}
	})

	t.Run("concurrent admissions of both tenants each get their own answer", func(t *testing.T) {
		h := tn.handler()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var wrong []string
		for i := range 40 {
			req, wantAllowed := tn.byTag.a, true
			if i%2 == 1 {
				req, wantAllowed = tn.byTag.b, false
			}
			wg.Go(func() {
				resp := admitWithin(h, 20*time.Second, req)
				if resp.Allowed != wantAllowed || !wantAllowed && !deniedFor(resp, "UNAUTHORIZED") {
					mu.Lock()
					wrong = append(wrong, fmt.Sprintf("%s allowed=%v %+v", req.Namespace, resp.Allowed, resp.Result))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(wrong) > 0 {
			t.Fatalf("%d of 40 concurrent admissions got another tenant's answer, e.g. %s", len(wrong), wrong[0])
		}
	})
}

// opaqueKeychain hides its keychain's CredentialsID, as a keychain signet
// does not know would.
type opaqueKeychain struct{ authn.Keychain }
