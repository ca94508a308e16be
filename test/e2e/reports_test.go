package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policyreport"
	"github.com/signet-dev/signet/scan"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/stack"
)

const reportsPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: release-key
    key: {path: KEY_PUB}
images:
  - {name: acme, match: [REGISTRY/acme/**], ACME_RULE}
  - {name: default-deny, match: ["**"], deny: only approved registries may run}
enforcement:
  mode: audit
`

var chartCRDs = []string{"../../deploy/charts/signet-enforce/crds/wgpolicyk8s.io_policyreports.yaml",
	"../../deploy/charts/signet-enforce/crds/wgpolicyk8s.io_clusterpolicyreports.yaml"}

// TestReportsOnRealAPIServer runs two enforce replicas against a real
// kube-apiserver with the chart's report CRDs and checks the background
// verifier end to end: one replica holds the Lease and scans; pods admitted
// under an audit trust file show fail results as soon as they are admitted
// and keep one result per container once their node reports what runs; a
// trust-file edit flips results without a restart; a deleted pod's result
// goes; `sign audit` decides exactly as the reports say; and when the leader
// stops, the other replica takes the Lease and keeps the reports current.
func TestReportsOnRealAPIServer(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	s := stack.New(t, stack.Options{Registry: true, Kube: true})
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := filepath.Join(dir, "cosign.pub")
	write(t, pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	policyFor := func(rule string) []byte {
		return []byte(strings.NewReplacer("KEY_PUB", pub, "REGISTRY", s.Registry.Host, "ACME_RULE", rule).Replace(reportsPolicy))
	}
	policyPath := filepath.Join(dir, "trust.yaml")
	write(t, policyPath, policyFor("signedBy: [release-key]"))

	ss, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ss.KeySigner(key, sigstoretest.WithoutTlog())
	if err != nil {
		t.Fatal(err)
	}
	signed := push(t, s.Registry.Host+"/acme/app:1.0")
	b, err := signer.SignBundle(sigstoretest.Statement(mustHash(t, signed), ocisig.CosignSignPredicateType, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ocisig.WriteBundle(context.Background(), signed, b, ocisig.CosignSignPredicateType); err != nil {
		t.Fatal(err)
	}
	unsigned := push(t, s.Registry.Host+"/acme/app:unsigned")

	kc, err := kubernetes.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := stack.InstallCRDs(ctx, dyn, chartCRDs...); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"signet-system", "shop"} {
		createNamespace(t, kc, ns)
	}
	cert, certKey, caPEM := servingCert(t, dir)
	replicas := map[string]*replica{}
	for _, id := range []string{"enforce-a", "enforce-b"} {
		replicas[id] = startReplica(t, id, policyPath, cert, certKey, s.Kube.Kubeconfig)
	}
	// The webhook is served by the replica that does not scan, so stopping
	// the scanner below leaves admissions working.
	leader := waitLeader(t, kc, replicas)
	for id, r := range replicas {
		if id != leader {
			registerWebhooks(t, kc, r.port, caPEM)
		}
	}
	waitFor(t, 30*time.Second, "the webhook to pin an admitted pod", func() error {
		p, err := kc.CoreV1().Pods("shop").Create(ctx, testPod("probe-"+randSuffix(), nil, []string{s.Registry.Host + "/acme/app:1.0"}), metav1.CreateOptions{})
		if err != nil {
			return err
		}
		_ = kc.CoreV1().Pods("shop").Delete(ctx, p.Name, metav1.DeleteOptions{})
		if !strings.Contains(p.Spec.Containers[0].Image, "@sha256:") {
			return fmt.Errorf("not pinned yet")
		}
		return nil
	})

	t.Run("one replica holds the lease and scans", func(t *testing.T) {
		for id, r := range replicas {
			want := "signet_scan_leader 0"
			if id == leader {
				want = "signet_scan_leader 1"
			}
			if m := scrapeMetrics(t, r.ops); !strings.Contains(m, want) {
				t.Errorf("%s: want %q in its metrics", id, want)
			}
		}
	})

	var good, bad *corev1.Pod
	t.Run("pods admitted under an audit trust file have results at once, fail for the unsigned one", func(t *testing.T) {
		good = createPod(t, kc, "shop", "good", signed.Context().Name()+":1.0")
		bad = createPod(t, kc, "shop", "bad", unsigned.Context().Name()+":unsigned")
		rs := waitResults(t, dyn, "shop", "admission-time results", func(rs map[string]policyreport.Result) error {
			return want(rs, map[string]string{"good/container c0": "pass", "bad/container c0": "fail"})
		})
		r := rs["bad/container c0"]
		if r.Properties["digestFrom"] != "spec" || r.Properties["digest"] != unsigned.DigestStr() || r.Properties["mode"] != "audit" {
			t.Errorf("pending pod's result: %v, want the spec's pinned digest in audit mode", r.Properties)
		}
		if !strings.Contains(r.Message, "no signature") && !strings.Contains(r.Message, "signature") {
			t.Errorf("fail message %q is not the webhook's reason", r.Message)
		}
		if rs["good/container c0"].Properties["identity"] != "release-key" {
			t.Errorf("pass without its identity: %v", rs["good/container c0"].Properties)
		}
	})

	t.Run("a running pod is verified by the digest its node runs, one result per container", func(t *testing.T) {
		setRunning(t, kc, good, signed)
		setRunning(t, kc, bad, unsigned)
		rs := waitResults(t, dyn, "shop", "node digests", func(rs map[string]policyreport.Result) error {
			if rs["bad/container c0"].Properties["digestFrom"] != "node" || rs["good/container c0"].Properties["digestFrom"] != "node" {
				return fmt.Errorf("results still from the spec: %v", rs)
			}
			return want(rs, map[string]string{"good/container c0": "pass", "bad/container c0": "fail"})
		})
		if len(rs) != 2 {
			t.Errorf("%d results for two one-container pods", len(rs))
		}
	})

	t.Run("sign audit decides as the reports do", func(t *testing.T) {
		findings, code := signAudit(t, s.Kube.Kubeconfig, policyPath)
		if code != 1 {
			t.Errorf("sign audit exit %d with a failing image running, want 1", code)
		}
		rs := reportResults(t, dyn, "shop")
		for _, f := range findings {
			if f.Namespace != "shop" {
				continue
			}
			r, ok := rs[f.Pod+"/"+f.Container]
			if !ok || r.Result != string(f.Result) || r.Properties["digest"] != f.Digest || r.Properties["policyHash"] != f.PolicyHash {
				t.Errorf("sign audit %s/%s: %s %s %s; report: %+v", f.Pod, f.Container, f.Result, f.Digest, f.PolicyHash, r)
			}
		}
		if len(findings) != len(rs) {
			t.Errorf("sign audit found %d images, the report has %d", len(findings), len(rs))
		}
	})

	t.Run("an edited report is rewritten from what it holds", func(t *testing.T) {
		hideFailures(t, dyn, "shop")
		waitResults(t, dyn, "shop", "the hidden failure to be reported again", func(rs map[string]policyreport.Result) error {
			return want(rs, map[string]string{"good/container c0": "pass", "bad/container c0": "fail"})
		})
	})

	t.Run("a trust-file change flips results without a restart", func(t *testing.T) {
		write(t, policyPath, policyFor("signature: optional"))
		waitResults(t, dyn, "shop", "results under the new policy", func(rs map[string]policyreport.Result) error {
			return want(rs, map[string]string{"good/container c0": "pass", "bad/container c0": "pass"})
		})
		if _, code := signAudit(t, s.Kube.Kubeconfig, policyPath); code != 0 {
			t.Errorf("sign audit exit %d with nothing failing, want 0", code)
		}
		write(t, policyPath, policyFor("signedBy: [release-key]"))
		waitResults(t, dyn, "shop", "results under the first policy again", func(rs map[string]policyreport.Result) error {
			return want(rs, map[string]string{"good/container c0": "pass", "bad/container c0": "fail"})
		})
	})

	t.Run("a terminating pod whose containers keep running stays reported", func(t *testing.T) {
		// A finalizer keeps the deleted pod terminating, as a long grace
		// period and a process that ignores SIGTERM keep a real one.
		p := testPod("lingering", nil, []string{unsigned.Context().Name() + ":unsigned"})
		p.Finalizers = []string{"signet.test/hold"}
		p, err := kc.CoreV1().Pods("shop").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		setRunning(t, kc, p, unsigned)
		waitResults(t, dyn, "shop", "the lingering pod's result", func(rs map[string]policyreport.Result) error {
			return want(rs, map[string]string{"good/container c0": "pass", "bad/container c0": "fail", "lingering/container c0": "fail"})
		})
		if err := kc.CoreV1().Pods("shop").Delete(ctx, "lingering", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The scanner decides changes in order: once a pod created after
		// the deletion has its result, the deletion has been seen.
		createPod(t, kc, "shop", "after-delete", unsigned.Context().Name()+":unsigned")
		waitResults(t, dyn, "shop", "a later pod's result", func(rs map[string]policyreport.Result) error {
			return want(rs, map[string]string{"good/container c0": "pass", "bad/container c0": "fail", "lingering/container c0": "fail",
				"after-delete/container c0": "fail"})
		})
		findings, _ := signAudit(t, s.Kube.Kubeconfig, policyPath)
		if !slices.ContainsFunc(findings, func(f scan.Finding) bool { return f.Pod == "lingering" && f.Result == scan.Fail }) {
			t.Errorf("sign audit does not report the terminating pod that still runs")
		}
		cur, err := kc.CoreV1().Pods("shop").Get(ctx, "lingering", metav1.GetOptions{})
		if err != nil || cur.DeletionTimestamp == nil {
			t.Fatalf("the lingering pod is not terminating: %v", err)
		}
		cur.Finalizers = nil
		if _, err := kc.CoreV1().Pods("shop").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := kc.CoreV1().Pods("shop").Delete(ctx, "after-delete", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitResults(t, dyn, "shop", "the terminated pods' results to go", func(rs map[string]policyreport.Result) error {
			return want(rs, map[string]string{"good/container c0": "pass", "bad/container c0": "fail"})
		})
	})

	t.Run("deleting a pod removes its result", func(t *testing.T) {
		if err := kc.CoreV1().Pods("shop").Delete(ctx, "bad", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitResults(t, dyn, "shop", "the deleted pod's result to go", func(rs map[string]policyreport.Result) error {
			return want(rs, map[string]string{"good/container c0": "pass"})
		})
	})

	t.Run("when the leader stops the other replica takes the lease and keeps reporting", func(t *testing.T) {
		replicas[leader].stop()
		var other string
		for id := range replicas {
			if id != leader {
				other = id
			}
		}
		waitFor(t, 30*time.Second, "the lease to move", func() error {
			if h := leaseHolder(t, kc); h != other {
				return fmt.Errorf("holder %q", h)
			}
			return nil
		})
		createPod(t, kc, "shop", "late", unsigned.Context().Name()+":unsigned")
		waitResults(t, dyn, "shop", "the new leader's results", func(rs map[string]policyreport.Result) error {
			return want(rs, map[string]string{"good/container c0": "pass", "late/container c0": "fail"})
		})
	})
}

type replica struct {
	port, ops int
	cmd       *exec.Cmd
	stopOnce  sync.Once
}

// stop ends the replica as Kubernetes would (SIGTERM) and reaps it.
func (r *replica) stop() {
	r.stopOnce.Do(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		_ = r.cmd.Wait()
	})
}

// startReplica runs one enforce replica with the background verifier and
// waits for /readyz. Unlike startEnforce it keeps the process, so a test
// can stop the leader; it is stopped when the test ends in any case.
func startReplica(t *testing.T, id, policyPath, cert, key, kubeconfig string) *replica {
	t.Helper()
	r := &replica{port: stack.FreePort(t), ops: stack.FreePort(t)}
	logPath := filepath.Join(t.TempDir(), id+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(enforceBin, "serve", "--policy", policyPath, "--tls-cert", cert, "--tls-key", key,
		"--listen", fmt.Sprintf("127.0.0.1:%d", r.port), "--ops-listen", fmt.Sprintf("127.0.0.1:%d", r.ops),
		"--reload-interval", "200ms", "--deadline", "4s", "--kubeconfig", kubeconfig,
		"--lease-namespace", "signet-system", "--lease-identity", id, "--lease-duration", "6s")
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.stop()
		if data, err := os.ReadFile(logPath); err == nil && t.Failed() {
			t.Logf("%s log:\n%s", id, tail(string(data), 6000))
		}
	})
	waitFor(t, 30*time.Second, id+" /readyz", func() error {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", r.ops))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	return r
}

func createPod(t *testing.T, kc kubernetes.Interface, ns, podName, image string) *corev1.Pod {
	t.Helper()
	p, err := kc.CoreV1().Pods(ns).Create(context.Background(), testPod(podName, nil, []string{image}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// setRunning reports the pod running digest d, as a kubelet would (no
// kubelet runs here: the status subresource is written directly).
func setRunning(t *testing.T, kc kubernetes.Interface, p *corev1.Pod, d name.Digest) {
	t.Helper()
	ctx := context.Background()
	cur, err := kc.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Status.Phase = corev1.PodRunning
	cur.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c0", Image: cur.Spec.Containers[0].Image, ImageID: d.String(), Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
	if _, err := kc.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func leaseHolder(t *testing.T, kc kubernetes.Interface) string {
	l, err := kc.CoordinationV1().Leases("signet-system").Get(context.Background(), "signet-enforce-scanner", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func waitLeader(t *testing.T, kc kubernetes.Interface, replicas map[string]*replica) string {
	t.Helper()
	var holder string
	waitFor(t, 30*time.Second, "a replica to hold the lease", func() error {
		if holder = leaseHolder(t, kc); replicas[holder] == nil {
			return fmt.Errorf("holder %q", holder)
		}
		return nil
	})
	return holder
}

// hideFailures edits ns's reports as someone hiding a failing image
// would: the fail results removed, the summaries saying all passes, and
// nothing else touched.
func hideFailures(t *testing.T, dyn dynamic.Interface, ns string) {
	t.Helper()
	ri := dyn.Resource(policyreport.PolicyReports).Namespace(ns)
	list, err := ri.List(context.Background(), metav1.ListOptions{LabelSelector: policyreport.ManagedByLabel + "=" + policyreport.ManagedBy})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		u := &list.Items[i]
		raw, _ := u.Object["results"].([]any)
		var kept []any
		for _, r := range raw {
			if m, _ := r.(map[string]any); m["result"] != "fail" {
				kept = append(kept, r)
			}
		}
		u.Object["results"] = kept
		u.Object["summary"] = map[string]any{"pass": int64(len(kept))}
		if _, err := ri.Update(context.Background(), u, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// reportResults reads signet's results in ns, keyed "pod/container".
func reportResults(t *testing.T, dyn dynamic.Interface, ns string) map[string]policyreport.Result {
	t.Helper()
	list, err := dyn.Resource(policyreport.PolicyReports).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: policyreport.ManagedByLabel + "=" + policyreport.ManagedBy})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]policyreport.Result{}
	for i := range list.Items {
		r, err := policyreport.Decode(&list.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range r.Results {
			key := res.Resources[0].Name + "/" + res.Properties["container"]
			if _, dup := out[key]; dup {
				t.Errorf("two results for %s", key)
			}
			out[key] = res
		}
	}
	return out
}

func waitResults(t *testing.T, dyn dynamic.Interface, ns, what string, cond func(map[string]policyreport.Result) error) map[string]policyreport.Result {
	t.Helper()
	var rs map[string]policyreport.Result
	waitFor(t, 30*time.Second, what, func() error {
		rs = reportResults(t, dyn, ns)
		return cond(rs)
	})
	return rs
}

// want checks that rs holds exactly these results.
func want(rs map[string]policyreport.Result, results map[string]string) error {
	if len(rs) != len(results) {
		return fmt.Errorf("%d results, want %d: %v", len(rs), len(results), summary(rs))
	}
	for k, v := range results {
		if rs[k].Result != v {
			return fmt.Errorf("%s is %q, want %q: %v", k, rs[k].Result, v, summary(rs))
		}
	}
	return nil
}

func summary(rs map[string]policyreport.Result) map[string]string {
	out := map[string]string{}
	for k, r := range rs {
		out[k] = r.Result
	}
	return out
}

// signAudit runs `sign audit -o json` and decodes its document.
func signAudit(t *testing.T, kubeconfig, policyPath string) ([]scan.Finding, int) {
	t.Helper()
	cmd := exec.Command(signBin, "audit", "--kubeconfig", kubeconfig, "--policy", policyPath, "-o", "json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var res scan.Report
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("sign audit output (%v):\n%s\n%s", err, out.String(), errb.String())
	}
	return res.Findings, code
}
