package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/test/faultregistry"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/verify"
)

const faultsPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: release-key
    key: {path: KEY_PUB}
images:
  - {name: wide, match: [PROXY/faults/wide/**], signedBy: [release-key], platforms: all}
  - {name: faults, match: [PROXY/faults/**], signedBy: [release-key]}
  - {name: default-deny, match: ["**"], deny: only the test registry}
`

// faultWorld is the real registry, the fault proxy in front of it, a key
// that signs in both layouts, and the trust file naming the proxy.
type faultWorld struct {
	s      *stack.Stack
	proxy  *faultregistry.Proxy
	policy string
	dir    string
	signer *sigstoretest.Signer
}

func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	s := stack.New(t, stack.Options{Registry: true})
	w := &faultWorld{s: s, proxy: faultregistry.Start(t, s.Registry.URL), dir: t.TempDir()}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := filepath.Join(w.dir, "cosign.pub")
	write(t, pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	w.policy = writePolicy(t, w.dir, faultsPolicy, map[string]string{"KEY_PUB": pub, "PROXY": w.proxy.Host})
	ss, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	if w.signer, err = ss.KeySigner(key, sigstoretest.WithoutTlog()); err != nil {
		t.Fatal(err)
	}
	return w
}

// signed pushes repo:1 to the real registry, signs it in both layouts and
// returns the reference through the proxy, by tag and by digest.
func (w *faultWorld) signed(t *testing.T, repo string) (tag, digest string) {
	t.Helper()
	d := push(t, w.s.Registry.Host+"/"+repo+":1")
	leg, err := w.signer.SignLegacy(sigstoretest.SimpleSigning(d))
	if err != nil {
		t.Fatal(err)
	}
	if err := ocisig.WriteLegacy(context.Background(), d, []ocisig.Legacy{leg}); err != nil {
		t.Fatal(err)
	}
	b, err := w.signer.SignBundle(sigstoretest.Statement(mustHash(t, d), ocisig.CosignSignPredicateType, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ocisig.WriteBundle(context.Background(), d, b, ocisig.CosignSignPredicateType); err != nil {
		t.Fatal(err)
	}
	return w.proxy.Host + "/" + repo + ":1", w.proxy.Host + "/" + repo + "@" + d.DigestStr()
}

// faultCase is one way for the registry to fail, and what the denial must
// say about it.
type faultCase struct {
	name  string
	fault faultregistry.Fault
	cause string
	// unsigned: the image is not pushed (the proxy serves invented content).
	unsigned bool
	// synthetic: the proxy invented content that must never be fetched.
	synthetic bool
	// refused: the denial is about what the registry holds (exit 1), not a
	// failure to read it (transient, exit 3).
	refused bool
	// admitted: what signet read of a hostile listing decides (the image is
	// signed), and cause is in the decision's rejected material instead; at
	// most ocisig.MaxItems synthetic items are fetched per verification.
	admitted bool
}

func faultCases() []faultCase {
	return []faultCase{
		{name: "hang", fault: faultregistry.Fault{Kind: faultregistry.Hang}, cause: "had not answered"},
		{name: "drip", fault: faultregistry.Fault{Kind: faultregistry.Drip}, cause: "was still sending the body of GET"},
		{name: "500-storm", fault: faultregistry.Fault{Kind: faultregistry.Status, Status: 500}, cause: "answered 500 Internal Server Error"},
		{name: "503-storm", fault: faultregistry.Fault{Kind: faultregistry.Status, Status: 503}, cause: "answered 503 Service Unavailable"},
		{name: "429-storm", fault: faultregistry.Fault{Kind: faultregistry.Status, Status: 429}, cause: "answered 429 Too Many Requests"},
		{name: "reset-mid-body", fault: faultregistry.Fault{Kind: faultregistry.ResetMidBody}, cause: "broke the connection while sending the body"},
		{name: "redirect-loop", fault: faultregistry.Fault{Kind: faultregistry.RedirectLoop}, cause: "stopped after 10 redirects"},
		{name: "tls-stall", fault: faultregistry.Fault{Kind: faultregistry.TLSStall}, cause: "TLS handshake with"},
		{name: "huge-manifest", fault: faultregistry.Fault{Kind: faultregistry.HugeManifest}, cause: "is 104857600 bytes, more than the 4 MiB signet reads"},
		{name: "huge-blob", fault: faultregistry.Fault{Kind: faultregistry.HugeBlob}, cause: "sent more than the 4 MiB signet reads"},
		{name: "10000-referrers", fault: faultregistry.Fault{Kind: faultregistry.ManyReferrers}, synthetic: true, admitted: true,
			cause: "has 10000 Sigstore bundles attached as referrers, more than the 64 signet reads: only the 64 newest"},
		{name: "10000-platform-index", fault: faultregistry.Fault{Kind: faultregistry.WideIndex}, unsigned: true, synthetic: true, refused: true,
			cause: "lists 10000 platform manifests"},
	}
}

// TestFaultyRegistry puts `sign verify` and the webhook (over HTTPS) in
// front of a registry failing in every way issue 10 lists. For each fault,
// at the same time: sign verify exits 3 (1 for a hostile listing, which is
// refused on its merits) inside its --timeout naming the cause; the webhook denies a new image inside its 4s deadline naming the
// cause, and still admits an image it had cached; hostile listings are
// refused without fetching what they list. The peak RSS (VmHWM) of a
// webhook built as released stays under 256 MiB across all of them (when
// the binaries under test are race-built, a released build runs beside the
// race-built one and gets every request too). After a storm heals, a new
// image is admitted at once; a pod of 50 new images is admitted with the
// default flags.
func TestFaultyRegistry(t *testing.T) {
	w := newFaultWorld(t)
	cases := faultCases()
	images := map[string][2]string{}
	for _, c := range cases {
		if c.unsigned {
			images[c.name] = [2]string{w.proxy.Host + "/faults/wide/" + c.name + ":1"}
			continue
		}
		tag, dg := w.signed(t, "faults/"+c.name)
		images[c.name] = [2]string{tag, dg}
	}
	_, cached := w.signed(t, "faults/cached")
	var pod50 []string
	for i := range 50 {
		tag, _ := w.signed(t, fmt.Sprintf("faults/pod50-%d", i))
		pod50 = append(pod50, tag)
	}
	cert, key, caPEM := servingCert(t, w.dir)
	env := []string{"SSL_CERT_FILE=" + w.proxy.CAFile}
	proc := launchEnforce(t, w.policy, cert, key, launch{env: env})
	hooks := webhooks{webhookClient(caPEM, proc.port)}
	released := proc // the process whose memory is measured
	if raceBuilt {
		released = launchEnforce(t, w.policy, cert, key, launch{env: env, bin: plainEnforceBin})
		hooks = append(hooks, webhookClient(caPEM, released.port))
	}
	hooks.mustAdmit(t, cached)

	t.Run("a pod of 50 new images from one registry is admitted with the default flags", func(t *testing.T) {
		hooks.mustAdmit(t, pod50...)
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := c.fault
			if target.Kind != faultregistry.TLSStall {
				target.Repo = strings.TrimPrefix(strings.TrimSuffix(images[c.name][0], ":1"), w.proxy.Host+"/")
			}
			w.proxy.Set(target)
			defer w.proxy.Set(faultregistry.Fault{})
			var wg sync.WaitGroup
			wg.Go(func() { w.checkSignVerify(t, c, images[c.name][0]) })
			for _, hook := range hooks {
				wg.Go(func() {
					ok, msg, el := hook.admit(t, images[c.name][0])
					switch {
					case c.admitted && !ok:
						t.Errorf("webhook: a signed image was denied behind a hostile listing: %s", msg)
					case !c.admitted && (ok || !strings.Contains(msg, c.cause)):
						t.Errorf("webhook: want a denial naming %q, got allowed=%v: %s", c.cause, ok, msg)
					}
					if el > 5*time.Second {
						t.Errorf("webhook answered after %s, past its 4s deadline", el)
					}
					if ok, msg, _ := hook.admit(t, cached); !ok {
						t.Errorf("webhook: the cached image was denied during the fault: %s", msg)
					}
				})
			}
			wg.Wait()
			if bound := int64(0); c.synthetic && c.admitted {
				// Each verification (sign verify, each webhook) reads at
				// most MaxItems of the listing.
				if bound = int64(ocisig.MaxItems * (1 + len(hooks))); w.proxy.Synthetic() > bound {
					t.Errorf("%d listed items fetched, more than %d verifications × %d", w.proxy.Synthetic(), 1+len(hooks), ocisig.MaxItems)
				}
			} else if c.synthetic && w.proxy.Synthetic() > 0 {
				t.Errorf("%d listed items fetched; the listing must be refused before fetching", w.proxy.Synthetic())
			}
			t.Logf("proxy answered %d requests with the fault; enforce peak RSS %d MiB", w.proxy.Faulted(), vmHWM(t, released.pid)>>20)
		})
	}
	t.Run("after a 503 storm heals the next new image is admitted at once", func(t *testing.T) {
		var during []string
		for i := range 12 { // more failing verifications than a registry's slots once leaked
			tag, _ := w.signed(t, fmt.Sprintf("faults/storm-%d", i))
			during = append(during, tag)
		}
		tag, _ := w.signed(t, "faults/after-storm")
		w.proxy.Set(faultregistry.Fault{Kind: faultregistry.Status, Status: 503})
		var wg sync.WaitGroup
		for _, img := range during {
			for _, hook := range hooks {
				wg.Go(func() { hook.admit(t, img) })
			}
		}
		wg.Wait()
		w.proxy.Set(faultregistry.Fault{})
		for _, hook := range hooks {
			if ok, msg, el := hook.admit(t, tag); !ok || el > 3*time.Second {
				t.Fatalf("after healing: allowed=%v after %s: %s", ok, el, msg)
			}
		}
	})
	if peak := vmHWM(t, released.pid); peak > 256<<20 {
		t.Fatalf("enforce peaked at %d MiB RSS, want under 256", peak>>20)
	} else {
		t.Logf("enforce peak RSS over every fault: %d MiB", peak>>20)
	}
}

// checkSignVerify runs `sign verify` against the faulty registry.
func (w *faultWorld) checkSignVerify(t *testing.T, c faultCase, image string) {
	const timeout = 4 * time.Second
	cmd := exec.Command(signBin, "verify", "--policy", w.policy, "-o", "json", "--timeout", timeout.String(), image)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+w.proxy.CAFile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	el := time.Since(start)
	want := 3 // transient: the registry could not be read
	switch {
	case c.refused:
		want = 1
	case c.admitted:
		want = 0
	}
	if code := exitCode(err); code != want {
		t.Errorf("sign verify: want exit %d, got %v\n%s\n%s", want, err, out.String(), errb.String())
		return
	}
	if el > timeout+2*time.Second {
		t.Errorf("sign verify took %s with --timeout %s", el, timeout)
	}
	var res verify.Report
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Decisions) != 1 {
		t.Errorf("sign verify output (%v): %s", err, out.String())
		return
	}
	said := res.Decisions[0].Messages()
	for _, r := range res.Decisions[0].Rejected {
		said = append(said, r.Reason)
	}
	if reasons := strings.Join(said, "\n"); !strings.Contains(reasons, c.cause) {
		t.Errorf("sign verify: reasons and rejected material do not name %q:\n%s", c.cause, reasons)
	}
}

// exitCode is a command's exit status: 0 without error, -1 when it did not
// run to an exit.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// webhooks are every enforce process under test.
type webhooks []*hookClient

func (hs webhooks) mustAdmit(t *testing.T, images ...string) {
	t.Helper()
	for _, h := range hs {
		ok, msg, el := h.admit(t, images...)
		if !ok {
			t.Fatalf("%d images denied after %s: %s", len(images), el, msg)
		}
		t.Logf("%d images admitted in %s", len(images), el.Round(time.Millisecond))
	}
}

// hookClient posts AdmissionReviews to the webhook over HTTPS.
type hookClient struct {
	url    string // https://127.0.0.1:port
	client *http.Client
}

func webhookClient(caPEM []byte, port int) *hookClient {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &hookClient{url: fmt.Sprintf("https://127.0.0.1:%d", port),
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}
}

// admit asks whether a pod of images may run, as the apiserver would (with
// its timeout=10s), and returns the verdict, the denial and the time taken.
func (h *hookClient) admit(t *testing.T, images ...string) (bool, string, time.Duration) {
	t.Helper()
	raw, _ := json.Marshal(testPod("faults", nil, images))
	start := time.Now()
	resp, err := h.send("/mutate", &admissionv1.AdmissionRequest{UID: "faults", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "prod",
		Name: "faults", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}})
	el := time.Since(start)
	if err != nil {
		return false, err.Error(), el
	}
	if resp.Result != nil {
		return resp.Allowed, resp.Result.Message, el
	}
	return resp.Allowed, "", el
}

// send posts one AdmissionReview to path, as the apiserver would (with its
// timeout=10s), and returns the webhook's answer.
func (h *hookClient) send(path string, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, error) {
	body, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	resp, err := h.client.Post(h.url+path+"?timeout=10s", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &out); err != nil || out.Response == nil {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, data)
	}
	return out.Response, nil
}

// vmHWM is a process's peak resident set size (VmHWM in /proc/PID/status).
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
