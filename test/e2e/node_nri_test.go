package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/verdict"
)

const verdictSecret = "signet-verdict"

// TestNodeRefusesWhatAdmissionNeverSaw installs the chart with signet-node
// on a real node (containerd 2.x, NRI) and checks, by what the runtime runs,
// that the node refuses what admission never saw or no longer vouches for:
// a static pod, a pod created while the webhook was bypassed (even with a
// verdict annotation copied from an admitted pod), a preloaded image, a
// container restarted after the trust file tightened; and that admitted
// pods start on the verdict path, kube-system and signet's own pods always
// start, and the plugin comes back on its own with no webhook up.
func TestNodeRefusesWhatAdmissionNeverSaw(t *testing.T) {
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
	policyPath := writePolicy(t, dir, trust("signature: optional"), nil)
	workload, err := stack.BuildStatic(ctx, t.TempDir(), "github.com/signet-dev/signet/test/stack/cmd/pause")
	if err != nil {
		t.Fatal(err)
	}
	signed := appImage(t, ctx, workload, reg+"/apps/app:v1", "signed")
	run(t, dir, env, signBin, "image", "--key", filepath.Join(dir, "cosign.key"), "--policy", policyPath, "--tlog-upload=false", signed)
	rogue := appImage(t, ctx, workload, reg+"/apps/rogue:v1", "rogue")
	vendor := appImage(t, ctx, workload, reg+"/vendor/db:v1", "vendor")
	enforceRepo, enforceDigest := enforceImage(t, ctx, s)
	nodeRepo, nodeDigest := nodeImage(t, ctx, s)

	createNodeNamespace(t, kc, releaseNS)
	createVerdictSecret(t, kc)
	h := newHelm(t, s.Kube.Kubeconfig)
	apiEnv := []any{
		map[string]any{"name": "KUBERNETES_SERVICE_HOST", "value": hostOf(s.Node.APIServerHost)},
		map[string]any{"name": "KUBERNETES_SERVICE_PORT", "value": portOf(s.Node.APIServerHost)},
	}
	values := map[string]any{
		"replicaCount":        1,
		"image":               map[string]any{"repository": enforceRepo, "tag": "test", "digest": enforceDigest},
		"trustPolicy":         trust("signature: optional"),
		"registries":          []any{map[string]any{"host": reg, "plainHTTP": true}},
		"keys":                map[string]any{"cosign.pub": string(pub)},
		"enforce":             map[string]any{"offline": true, "reloadInterval": "1s", "extraEnv": apiEnv},
		"backgroundScan":      map[string]any{"enabled": false},
		"podDisruptionBudget": map[string]any{"enabled": false},
		"resources":           map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "32Mi"}, "limits": map[string]any{"memory": "256Mi"}},
		"node": map[string]any{"enabled": true, "image": map[string]any{"repository": nodeRepo, "tag": "test", "digest": nodeDigest},
			"nriSocket": s.Node.NRISocket, "verdictSecret": verdictSecret},
	}
	if _, err := h.install(ctx, releaseName, releaseNS, values, 4*time.Minute); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	createNodeNamespace(t, kc, appsNS)
	waitFor(t, time.Minute, "the webhooks to answer through the Service", func() error {
		return deniedBySignet(dryRunDeployment(ctx, kc, "probe", rogue))
	})
	plugin := nodePlugin{t: t, kc: kc}
	plugin.waitConnected()

	t.Run("a signed Deployment starts, decided on the node from the webhook's verdict", func(t *testing.T) {
		before := plugin.count(`path="verdict",result="allow"`)
		if _, err := kc.AppsV1().Deployments(appsNS).Create(ctx, deployment("app", reg+"/apps/app:v1"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := waitRunning(t, kc, appsNS, "app")
		if _, err := verdictOf(pod); err != nil {
			t.Fatalf("the admitted pod carries no verdict: %v", err)
		}
		if after := plugin.count(`path="verdict",result="allow"`); after <= before {
			t.Errorf("signet_node_decisions_total{path=verdict,result=allow} %v -> %v: the node did not decide from the verdict", before, after)
		}
	})

	t.Run("a static pod with an unsigned image is not started; a signed one is", func(t *testing.T) {
		writeStaticPod(t, s.Node, "static-rogue", rogue)
		writeStaticPod(t, s.Node, "static-app", signed)
		waitContainer(t, s.Node, appsNS, "static-app-"+s.Node.Name, stateRunning)
		// The plugin's first registry contact may not finish within its
		// budget on a busy machine: that attempt is refused as undecided
		// (fail closed) and the kubelet's retry finds the decision kept.
		ev := waitEvent(t, kc, appsNS, "Pod", "static-rogue-"+s.Node.Name, "Failed", "release-key")
		t.Logf("static pod event: %s", ev)
		assertNotRunning(t, s.Node, appsNS, "static-rogue-"+s.Node.Name)
		if !strings.Contains(ev, "signet-node denied") || !strings.Contains(ev, "apps/rogue") {
			t.Errorf("the event does not say signet-node refused the image: %s", ev)
		}
	})

	t.Run("with the webhook bypassed, a pod is not started, even with an admitted pod's verdict copied onto it", func(t *testing.T) {
		restore := bypassWebhooks(t, kc)
		defer restore()
		app := waitRunning(t, kc, appsNS, "app")
		copied := runPod("bypassed", rogue)
		copied.Annotations = map[string]string{verdict.Annotation: app.Annotations[verdict.Annotation]}
		if _, err := kc.CoreV1().Pods(appsNS).Create(ctx, copied, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a pod with the webhooks removed: %v", err)
		}
		ev := waitEvent(t, kc, appsNS, "Pod", "bypassed", "Failed", "signet-node denied")
		t.Logf("bypassed pod event: %s", ev)
		if !strings.Contains(ev, "verdict did not count") {
			t.Errorf("the event does not say why the copied verdict did not count: %s", ev)
		}
		assertNotRunning(t, s.Node, appsNS, "bypassed")
	})

	t.Run("a preloaded image is not started when admission never saw the pod", func(t *testing.T) {
		// Preloaded by tag, as a machine image or a pre-pull DaemonSet does;
		// the pod names the tag and never pulls.
		if _, err := s.Node.PullImage(ctx, reg+"/apps/rogue:v1"); err != nil {
			t.Fatal(err)
		}
		restore := bypassWebhooks(t, kc)
		defer restore()
		p := runPod("preloaded", reg+"/apps/rogue:v1")
		p.Spec.Containers[0].ImagePullPolicy = corev1.PullNever
		if _, err := kc.CoreV1().Pods(appsNS).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, kc, appsNS, "Pod", "preloaded", "Failed", "signet-node denied")
		assertNotRunning(t, s.Node, appsNS, "preloaded")
	})

	t.Run("a container restarted after the trust file tightened is not started again, and the event says why", func(t *testing.T) {
		if _, err := kc.AppsV1().Deployments(appsNS).Create(ctx, deployment("vendor", vendor), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := waitRunning(t, kc, appsNS, "vendor")
		old := plugin.policy()
		if _, err := h.upgrade(ctx, releaseName, releaseNS, map[string]any{"trustPolicy": trust("signedBy: [release-key]")}, 4*time.Minute); err != nil {
			t.Fatalf("helm upgrade: %v", err)
		}
		plugin.waitPolicyChange(old)
		if err := s.Node.StopContainer(ctx, appsNS, pod.Name, "app"); err != nil {
			t.Fatal(err)
		}
		ev := waitEvent(t, kc, appsNS, "Pod", pod.Name, "Failed", "signet-node denied")
		t.Logf("restart event: %s", ev)
		for _, want := range []string{"vendor/db", "release-key", "another trust file"} {
			if !strings.Contains(ev, want) {
				t.Errorf("the event does not say %q: %s", want, ev)
			}
		}
		assertNotRunning(t, s.Node, appsNS, pod.Name)
	})

	t.Run("kube-system and signet's own pods start with no webhook, and the plugin comes back by itself", func(t *testing.T) {
		scale(t, kc, 0)
		waitFor(t, 2*time.Minute, "every enforce pod to stop", func() error {
			if n := len(enforcePods(t, kc)); n > 0 {
				return fmt.Errorf("%d enforce pods left", n)
			}
			return nil
		})
		// A node restart with no webhook yet: the plugin's own pod starts
		// (the release namespace is never checked) and reconnects.
		deletePods(t, kc, releaseNS, "app.kubernetes.io/name=signet-node")
		plugin.waitConnected()
		if _, err := kc.CoreV1().Pods("kube-system").Create(ctx, runPod("system", rogue), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRunning(t, kc, "kube-system", "system")
		scale(t, kc, 1)
		waitFor(t, 3*time.Minute, "enforce to come back", func() error {
			if !allReady(t, kc) {
				return fmt.Errorf("not ready")
			}
			return nil
		})
	})
}
