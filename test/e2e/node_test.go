package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/signet-dev/signet/policyreport"
	"github.com/signet-dev/signet/test/stack"
)

// nodeTrust is the trust file the node test installs. VENDOR is the vendor
// rule's requirement: optional at first, then tightened by a helm upgrade.
const nodeTrust = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: release-key
    key: {path: cosign.pub}
images:
  - {name: apps, match: ["REG/apps/**"], signedBy: [release-key]}
  - {name: vendor, match: ["REG/vendor/**"], VENDOR}
  - {name: default-deny, match: ["**"], deny: only signed apps and approved vendors may run}
enforcement:
  namespaces: {exempt: [kube-system]}
`

// brokenTrust misspells a top-level key: valid YAML (so helm renders it),
// but a trust file enforce refuses, at line 10, column 1.
const brokenTrustLine = "enforcment:\n  namespaces: {exempt: [kube-system]}\n"

const (
	releaseName = "signet"
	releaseNS   = "signet-system"
	enforceName = "signet-signet-enforce" // the chart's fullname for releaseName
	appsNS      = "apps"
)

// TestChartOnNode installs the Helm chart on a real node and checks, as a user
// would see it, that its own pods enforce: signed Deployments run the digest
// signet verified, unsigned ones are refused (with the reason where kubectl
// shows it), trust file changes take effect without restarts and cannot lock
// the cluster, and losing replicas never blocks the control plane's namespaces.
func TestChartOnNode(t *testing.T) {
	// Beside the release workflow\'s builds, after the serial tests: it
	// needs no TSA, and node tests wait for the machine\'s one node.
	t.Parallel()
	s := stack.New(t, stack.Options{Node: true})
	ctx := t.Context()
	kc, err := s.Kube.Client()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	reg := s.Node.RegistryHost
	env := append(os.Environ(), "COSIGN_PASSWORD=node-test")
	run(t, dir, env, signBin, "generate-key-pair", "--output-key-prefix", "cosign")
	pub, err := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	trust := func(vendor string) string {
		return strings.NewReplacer("REG", reg, "VENDOR", vendor).Replace(nodeTrust)
	}
	v1 := trust("signature: optional")
	policyPath := writePolicy(t, dir, v1, nil)

	workload, err := stack.BuildStatic(ctx, t.TempDir(), "github.com/signet-dev/signet/test/stack/cmd/pause")
	if err != nil {
		t.Fatal(err)
	}
	signed := appImage(t, ctx, workload, reg+"/apps/app:v1", "signed")
	run(t, dir, env, signBin, "image", "--key", filepath.Join(dir, "cosign.key"), "--policy", policyPath, "--tlog-upload=false", signed)
	rogue := appImage(t, ctx, workload, reg+"/apps/rogue:v1", "rogue")
	vendor := appImage(t, ctx, workload, reg+"/vendor/db:v1", "vendor")
	repo, digest := enforceImage(t, ctx, s)
	// The chart as a release publishes it (pinned to the enforce image),
	// signed and checked with sign verify, installed from oci://.
	ociRef, version := publishChart(t, ctx, s, dir, env, repo, digest)

	dyn, err := dynamic.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	h := newHelmOCI(t, s.Kube.Kubeconfig, ociRef, version)
	values := func(trustPolicy string) map[string]any {
		v := nodeValues(s, repo, digest)
		v["trustPolicy"] = trustPolicy
		v["keys"] = map[string]any{"cosign.pub": string(pub)}
		return v
	}
	broken := strings.Replace(v1, "enforcement:\n  namespaces: {exempt: [kube-system]}\n", brokenTrustLine, 1)

	t.Run("a broken trust file fails helm install before any webhook is registered", func(t *testing.T) {
		rel, err := h.install(ctx, "broken", "signet-broken", values(broken), 3*time.Minute)
		if err == nil {
			t.Fatalf("helm install of a broken trust file succeeded: %s", describeRelease(rel))
		}
		t.Logf("helm install: %v", err)
		assertNoWebhooks(t, kc, "broken-signet-enforce")
		msg := hookMessage(t, kc, "signet-broken")
		if !strings.Contains(msg, "trust.yaml:10:1") || !strings.Contains(msg, "enforcment") {
			t.Errorf("the check's termination message does not point at trust.yaml:10:1: %q", msg)
		}
	})

	t.Run("install: the enforce pods become ready and the apiserver reaches them through the Service", func(t *testing.T) {
		rel, err := h.install(ctx, releaseName, releaseNS, values(v1), 4*time.Minute)
		if err != nil {
			t.Fatalf("helm install: %v", err)
		}
		t.Logf("installed %s", describeRelease(rel))
		createNodeNamespace(t, kc, appsNS)
		waitFor(t, time.Minute, "the webhooks to answer through the Service", func() error {
			return deniedBySignet(dryRunDeployment(ctx, kc, "probe", rogue))
		})
	})

	t.Run("a signed Deployment runs exactly the digest signet verified and pinned", func(t *testing.T) {
		d, err := kc.AppsV1().Deployments(appsNS).Create(ctx, deployment("app", reg+"/apps/app:v1"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != reg+"/apps/app:v1@"+digestOf(signed) {
			t.Fatalf("template image %q, want it pinned to %s", got, digestOf(signed))
		}
		pod := waitRunning(t, kc, appsNS, "app")
		if img := pod.Spec.Containers[0].Image; digestOf(img) != digestOf(signed) {
			t.Errorf("pod image %s, want digest %s", img, digestOf(signed))
		}
		if id := pod.Status.ContainerStatuses[0].ImageID; digestOf(id) != digestOf(signed) {
			t.Errorf("the kubelet ran %s, signet verified %s", id, digestOf(signed))
		}
	})

	t.Run("an unsigned Deployment is refused with the image and the rule", func(t *testing.T) {
		_, err := kc.AppsV1().Deployments(appsNS).Create(ctx, deployment("rogue", rogue), metav1.CreateOptions{})
		if err := deniedBySignet(err); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(err.Error(), "apps/rogue:v1") {
			t.Errorf("denial does not name the image: %v", err)
		}
	})

	t.Run("a vendor image runs unsigned while the trust file allows it", func(t *testing.T) {
		if _, err := kc.AppsV1().Deployments(appsNS).Create(ctx, deployment("vendor", vendor), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRunning(t, kc, appsNS, "vendor")
	})

	t.Run("the chart's background verifier reports what runs, by the digest the kubelet ran", func(t *testing.T) {
		app := waitRunning(t, kc, appsNS, "app")
		ran := digestOf(app.Status.ContainerStatuses[0].ImageID)
		vendorPod := waitRunning(t, kc, appsNS, "vendor")
		waitResults(t, dyn, appsNS, "PolicyReport results for the running pods", func(rs map[string]policyreport.Result) error {
			if err := want(rs, map[string]string{app.Name + "/container app": policyreport.ResultPass, vendorPod.Name + "/container app": policyreport.ResultPass}); err != nil {
				return err
			}
			if got := rs[app.Name+"/container app"].Properties["digest"]; got != ran {
				return fmt.Errorf("the report names digest %q, the kubelet ran %s", got, ran)
			}
			return nil
		})
	})

	t.Run("helm upgrade with a tightened trust file changes decisions without a restart", func(t *testing.T) {
		before, served := enforcePods(t, kc), policyHashes(t, kc)
		if _, err := h.upgrade(ctx, releaseName, releaseNS, map[string]any{"trustPolicy": trust("signedBy: [release-key]")}, 4*time.Minute); err != nil {
			t.Fatalf("helm upgrade: %v", err)
		}
		waitPolicy(t, kc, before, served)
		if err := deniedBySignet(dryRunDeployment(ctx, kc, "vendor-probe", vendor)); err != nil {
			t.Fatalf("the tightened trust file is in force but the vendor image is admitted: %v", err)
		}
		// The vendor pod still runs; the background verifier now reports it
		// as a violation of the new trust file, without a restart.
		vendorPod := waitRunning(t, kc, appsNS, "vendor")
		waitResults(t, dyn, appsNS, "the running vendor pod's result to flip to fail", func(rs map[string]policyreport.Result) error {
			if r := rs[vendorPod.Name+"/container app"]; r.Result != policyreport.ResultFail {
				return fmt.Errorf("vendor pod %s is %q under the tightened trust file: %v", vendorPod.Name, r.Result, summary(rs))
			}
			return nil
		})
		// The vendor Deployment's ReplicaSet now gets no pods: its pod is
		// recreated and refused, and the reason is on the ReplicaSet.
		deletePods(t, kc, appsNS, "app=vendor")
		rs := replicaSetOf(t, kc, appsNS, "vendor")
		ev := waitEvent(t, kc, appsNS, "ReplicaSet", rs.Name, "FailedCreate", "signet denied")
		t.Logf("ReplicaSet %s event: %s", rs.Name, ev)
		if !strings.Contains(ev, "vendor/db:v1") || !strings.Contains(ev, "release-key") {
			t.Errorf("the ReplicaSet's event does not name the image and the identity it needs: %s", ev)
		}
		waitFor(t, time.Minute, "the vendor pod to be gone", func() error {
			if pods := podsOf(t, kc, appsNS, "app=vendor"); len(pods) != 0 {
				return fmt.Errorf("the vendor ReplicaSet has %d pods: %s", len(pods), podStates(pods))
			}
			return nil
		})
		if after := enforcePods(t, kc); !sameRunning(before, after) {
			t.Errorf("enforce pods restarted or were replaced: before %v, after %v", before, after)
		}
	})

	t.Run("kubectl apply of a broken trust.yaml is refused with file:line:column", func(t *testing.T) {
		cm, err := kc.CoreV1().ConfigMaps(releaseNS).Get(ctx, enforceName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		good := cm.Data["trust.yaml"]
		cm.Data["trust.yaml"] = broken
		_, err = kc.CoreV1().ConfigMaps(releaseNS).Update(ctx, cm, metav1.UpdateOptions{})
		if err == nil || !strings.Contains(err.Error(), "trust.yaml:10:1") {
			t.Fatalf("update of the trust ConfigMap with a broken file: %v, want a refusal at trust.yaml:10:1", err)
		}
		if now, _ := kc.CoreV1().ConfigMaps(releaseNS).Get(ctx, enforceName, metav1.GetOptions{}); now.Data["trust.yaml"] != good {
			t.Error("the broken trust file was stored")
		}
	})

	t.Run("helm upgrade with a broken trust file fails and changes nothing", func(t *testing.T) {
		before := enforcePods(t, kc)
		if _, err := h.upgrade(ctx, releaseName, releaseNS, map[string]any{"trustPolicy": broken}, 3*time.Minute); err == nil {
			t.Fatal("helm upgrade with a broken trust file succeeded")
		}
		if msg := hookMessage(t, kc, releaseNS); !strings.Contains(msg, "trust.yaml:10:1") {
			t.Errorf("the check's message does not point at trust.yaml:10:1: %q", msg)
		}
		cm, err := kc.CoreV1().ConfigMaps(releaseNS).Get(ctx, enforceName, metav1.GetOptions{})
		if err != nil || strings.Contains(cm.Data["trust.yaml"], "enforcment") {
			t.Errorf("the trust ConfigMap changed: %v", err)
		}
		if err := dryRunDeployment(ctx, kc, "app-probe", reg+"/apps/app:v1"); err != nil {
			t.Errorf("a signed Deployment is no longer admitted: %v", err)
		}
		if after := enforcePods(t, kc); !sameRunning(before, after) {
			t.Errorf("enforce pods changed: before %v, after %v", before, after)
		}
	})

	t.Run("deleting an enforce pod keeps admissions working", func(t *testing.T) {
		pods := enforcePods(t, kc)
		if len(pods) != 2 {
			t.Fatalf("%d enforce pods, want 2", len(pods))
		}
		var victim string
		for name := range pods {
			victim = name
		}
		// Admissions from 4 clients at once, from before the deletion until the
		// replacement is ready and the deleted pod is gone: none may fail.
		var answered atomic.Int64
		failed := make(chan error, 1)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := dryRunDeployment(ctx, kc, "during-"+randSuffix(), reg+"/apps/app:v1"); err != nil {
						select {
						case failed <- fmt.Errorf("admission %d after deleting %s: %w", answered.Load()+1, victim, err):
						default:
						}
						return
					}
					answered.Add(1)
				}
			}()
		}
		if err := kc.CoreV1().Pods(releaseNS).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Minute, "the replacement enforce pod", func() error {
			select {
			case err := <-failed:
				close(stop)
				t.Fatal(err)
			default:
			}
			if _, err := kc.CoreV1().Pods(releaseNS).Get(ctx, victim, metav1.GetOptions{}); err == nil {
				return fmt.Errorf("%s still terminating", victim)
			}
			if !allReady(t, kc) {
				return fmt.Errorf("replacement not ready")
			}
			return nil
		})
		close(stop)
		wg.Wait()
		select {
		case err := <-failed:
			t.Fatal(err)
		default:
		}
		t.Logf("%d admissions answered while %s was replaced", answered.Load(), victim)
	})

	t.Run("with every enforce pod down, the release namespace and kube-system keep working", func(t *testing.T) {
		scale(t, kc, 0)
		waitFor(t, 2*time.Minute, "every enforce pod to stop", func() error {
			if n := len(enforcePods(t, kc)); n > 0 {
				return fmt.Errorf("%d enforce pods left", n)
			}
			return nil
		})
		for _, ns := range []string{releaseNS, "kube-system"} {
			if _, err := kc.CoreV1().Pods(ns).Create(ctx, runPod("still-works", rogue), metav1.CreateOptions{}); err != nil {
				t.Errorf("creating a pod in %s with no enforce pod up: %v", ns, err)
				continue
			}
			waitRunning(t, kc, ns, "still-works")
		}
		_, err := kc.CoreV1().Pods(appsNS).Create(ctx, runPod("fails-closed", reg+"/apps/app:v1"), metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
			t.Errorf("a pod outside the excluded namespaces with no enforce pod up: %v, want refused (fail closed)", err)
		}
	})

	t.Run("break glass (docs/operations.md): fail open while enforce is down, helm upgrade closes the gate again", func(t *testing.T) {
		// Step 2 of the runbook: the kubectl patch of both image webhooks.
		breakGlass(t, kc, enforceName)
		waitFor(t, time.Minute, "pods to be admitted without enforce", func() error {
			return dryRunDeployment(ctx, kc, "break-glass", reg+"/apps/app:v1")
		})
		// Step 3: helm upgrade --reuse-values restores the chart's
		// configuration (failurePolicy Fail) and its replicas.
		if _, err := h.upgrade(ctx, releaseName, releaseNS, nil, 4*time.Minute); err != nil {
			t.Fatalf("helm upgrade: %v", err)
		}
		if fp := imageWebhookFailurePolicies(t, kc, enforceName); fp != "Fail Fail" {
			t.Errorf("after helm upgrade the image webhooks' failurePolicy is %s, want Fail", fp)
		}
		waitFor(t, 3*time.Minute, "enforce to come back", func() error {
			if !allReady(t, kc) {
				return fmt.Errorf("not all replicas ready")
			}
			return dryRunDeployment(ctx, kc, "back", reg+"/apps/app:v1")
		})
		if err := deniedBySignet(dryRunDeployment(ctx, kc, "rogue-again", rogue)); err != nil {
			t.Errorf("after the gate closed: %v", err)
		}
	})
}

func run(t *testing.T, dir string, env []string, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func deployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: appsNS}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr(int64(1)),
			Containers:                    []corev1.Container{{Name: "app", Image: image}},
		}},
	}}
}

func runPod(name, image string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr(int64(1)),
		Containers:                    []corev1.Container{{Name: "app", Image: image}},
	}}
}

// dryRunDeployment asks the apiserver, webhooks included, to admit a
// Deployment without storing it.
func dryRunDeployment(ctx context.Context, kc kubernetes.Interface, name, image string) error {
	_, err := kc.AppsV1().Deployments(appsNS).Create(ctx, deployment(name, image), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// deniedBySignet is nil when err is signet's own denial (not a webhook
// transport failure or an admission).
func deniedBySignet(err error) error {
	switch {
	case err == nil:
		return fmt.Errorf("admitted")
	case !strings.Contains(err.Error(), "signet denied"):
		return fmt.Errorf("not signet's denial: %w", err)
	}
	return nil
}

func digestOf(ref string) string {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[i+1:]
	}
	return ""
}

// nodeValues are the chart values this node needs, beside the trust file:
// the locally built enforce image, two replicas and small requests (the
// node is small), and the apiserver's address (there is no kube-proxy).
func nodeValues(s *stack.Stack, repo, digest string) map[string]any {
	small := map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "32Mi"}, "limits": map[string]any{"memory": "256Mi"}}
	return map[string]any{
		"replicaCount": 2,
		"image":        map[string]any{"repository": repo, "tag": "test", "digest": digest},
		"enforce": map[string]any{
			"offline": true, "reloadInterval": "1s",
			"extraEnv": []any{
				map[string]any{"name": "KUBERNETES_SERVICE_HOST", "value": hostOf(s.Node.APIServerHost)},
				map[string]any{"name": "KUBERNETES_SERVICE_PORT", "value": portOf(s.Node.APIServerHost)},
			},
		},
		// The node's registry is plain HTTP at a private address: only read
		// without TLS when listed.
		"registries": []any{map[string]any{"host": s.Node.RegistryHost, "plainHTTP": true}},
		"resources":  small,
		// The background verifier's own Deployment.
		"backgroundScan": map[string]any{"resources": small},
	}
}

func hostOf(hostport string) string { h, _, _ := strings.Cut(hostport, ":"); return h }
func portOf(hostport string) string { _, p, _ := strings.Cut(hostport, ":"); return p }

func ptr[T any](v T) *T { return &v }
