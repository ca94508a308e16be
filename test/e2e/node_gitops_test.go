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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/test/stack"
)

// gitopsTrust admits images in a registry with a private CA (TLSREG) by
// their digest alone (sign sends plain HTTP to a registry at a private IP
// address without trying TLS, so it cannot sign there), and, signed by the
// release key: images whose pod-spec name a mirror serves
// (upstream.signet.test), MicroK8s-style localhost:PORT names (LOCAL), the
// node's registry (REG), and under gitops/ without pinning (pin: false).
const gitopsTrust = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: release-key
    key: {path: cosign.pub}
images:
  - {name: private, match: ["TLSREG/apps/**"], signature: optional}
  - {name: mirrored, match: ["upstream.signet.test/apps/**"], signedBy: [release-key]}
  - {name: microk8s, match: ["LOCAL/apps/**"], signedBy: [release-key]}
  - {name: gitops, match: ["REG/gitops/**"], signedBy: [release-key], pin: false}
  - {name: apps, match: ["REG/apps/**"], signedBy: [release-key]}
  - {name: default-deny, match: ["**"], deny: only signed apps may run}
enforcement:
  namespaces: {exempt: [kube-system]}
`

// TestChartGitOpsAndRegistriesOnNode installs the chart the way a GitOps
// tool does, as docs/gitops.md says: the release's chart from oci://,
// rendered with helm template (twice: the same bytes, with the serving
// certificate made once by enforce certificate and kept in a Secret) and
// server-side applied; then checks, on a real node, what real clusters'
// registries need: an image in a registry with a private CA (the chart's
// CA mount), a pod-spec name served by a mirror, a MicroK8s-style
// localhost:PORT name; signet beside other mutating webhooks (a peer that
// pins first, a sidecar injector after it: testPeersBesideSignet); and that
// a Flux-style server-side dry run of Git's manifests shows no drift,
// pinned or, with pin: false, keeping the tag.
func TestChartGitOpsAndRegistriesOnNode(t *testing.T) {
	// Beside the release workflow\'s builds, after the serial tests: it
	// needs no TSA, and node tests wait for the machine\'s one node.
	t.Parallel()
	s := stack.New(t, stack.Options{Node: true})
	ctx := t.Context()
	var warn warnings
	cfg := rest.CopyConfig(s.Kube.Config)
	cfg.WarningHandler = &warn
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	reg, tlsReg := s.Node.RegistryHost, startPrivateRegistry(t, s)
	local := "localhost:" + portOf(s.Registry.Host) // the stack's registry, as the node names it on loopback
	// The node pulls these names as its hosts.toml says (a mirror; loopback).
	for _, name := range []string{"upstream.signet.test", local} {
		if err := s.Node.RegistryHosts(name, "http://"+s.Registry.Host, nil); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "COSIGN_PASSWORD=node-test")
	run(t, dir, env, signBin, "generate-key-pair", "--output-key-prefix", "cosign")
	pub, _ := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	trust := strings.NewReplacer("TLSREG", tlsReg.PodHost, "LOCAL", local, "REG", reg).Replace(gitopsTrust)
	policyPath := writePolicy(t, dir, trust, nil)

	workload, err := stack.BuildStatic(ctx, t.TempDir(), "github.com/signet-dev/signet/test/stack/cmd/pause")
	if err != nil {
		t.Fatal(err)
	}
	signedAt := func(ref, label string) string {
		pinned := appImage(t, ctx, workload, ref, label)
		run(t, dir, env, signBin, "image", "--key", filepath.Join(dir, "cosign.key"), "--policy", policyPath, "--tlog-upload=false", pinned)
		return digestOf(pinned)
	}
	appDigest := signedAt(reg+"/apps/app:v1", "app")
	mirroredDigest := signedAt(reg+"/apps/mirrored:v1", "mirrored")
	webDigest := signedAt(reg+"/gitops/web:v1", "web")
	privateDigest := digestOf(appImage(t, ctx, workload, tlsReg.PodHost+"/apps/private:v1", "private", remote.WithTransport(tlsReg.Transport())))
	appImage(t, ctx, workload, reg+"/apps/rogue:v1", "rogue")

	// The chart, as the release publishes it; the certificate, made once.
	repo, digest := enforceImage(t, ctx, s)
	ociRef, version := publishChart(t, ctx, s, dir, env, repo, digest)
	h := newHelmOCI(t, s.Kube.Kubeconfig, ociRef, version)
	run(t, dir, env, enforceBin, "certificate", "--service", "signet", "--namespace", releaseNS, "--out", filepath.Join(dir, "tls"))
	createNodeNamespace(t, kc, releaseNS)
	createTLSSecret(t, kc, filepath.Join(dir, "tls"))
	ca, _ := os.ReadFile(filepath.Join(dir, "tls", "ca.crt"))
	values := map[string]any{
		"fullnameOverride": "signet",
		"replicaCount":     1,
		"trustPolicy":      trust,
		"keys":             map[string]any{"cosign.pub": string(pub)},
		"tls":              map[string]any{"existingSecret": "signet-tls", "caBundle": string(ca)},
		"registries": []any{
			map[string]any{"host": reg, "plainHTTP": true},
			map[string]any{"host": tlsReg.PodHost, "caBundle": string(tlsReg.CAPEM)},
			map[string]any{"host": "upstream.signet.test", "mirror": "http://" + reg, "plainHTTP": true},
			map[string]any{"host": local, "mirror": "http://" + reg, "plainHTTP": true},
		},
		"enforce": map[string]any{"offline": true, "extraEnv": []any{
			map[string]any{"name": "KUBERNETES_SERVICE_HOST", "value": hostOf(s.Node.APIServerHost)},
			map[string]any{"name": "KUBERNETES_SERVICE_PORT", "value": portOf(s.Node.APIServerHost)},
		}},
		"backgroundScan":      map[string]any{"enabled": false},
		"podDisruptionBudget": map[string]any{"enabled": false},
		"resources":           map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "32Mi"}, "limits": map[string]any{"memory": "256Mi"}},
	}
	flux := newGitops(t, cfg, "kustomize-controller")

	t.Run("two helm template renders of the same values are byte-identical", func(t *testing.T) {
		a, b := h.template("signet", releaseNS, "v1.37.2", values), h.template("signet", releaseNS, "v1.37.2", values)
		if a != b {
			t.Fatalf("the renders differ: a GitOps tool would see a change on every sync")
		}
		flux.apply(ctx, decodeManifests(t, a), false)
		waitFor(t, 4*time.Minute, "the webhook Deployment to be ready", func() error {
			d, err := kc.AppsV1().Deployments(releaseNS).Get(ctx, "signet", metav1.GetOptions{})
			if err != nil || d.Status.ReadyReplicas < 1 {
				return fmt.Errorf("not ready: %v", err)
			}
			return nil
		})
		createNodeNamespace(t, kc, appsNS)
		waitFor(t, time.Minute, "the webhooks to answer through the Service", func() error {
			return deniedBySignet(dryRunDeployment(ctx, kc, "probe", reg+"/apps/rogue:v1"))
		})
	})

	for _, tc := range []struct{ name, app, image, digest string }{
		{"an image in a registry with a private CA is verified through the chart's CA mount", "private", tlsReg.PodHost + "/apps/private:v1", privateDigest},
		{"an image whose pod-spec name a mirror serves is verified at the mirror, under its own name", "mirrored", "upstream.signet.test/apps/mirrored:v1", mirroredDigest},
		{"a MicroK8s-style localhost:PORT name is verified through the registries mapping", "microk8s", local + "/apps/app:v1", appDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := kc.AppsV1().Deployments(appsNS).Create(ctx, deployment(tc.app, tc.image), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Spec.Template.Spec.Containers[0].Image; got != tc.image+"@"+tc.digest {
				t.Fatalf("template image %q, want %s pinned to %s", got, tc.image, tc.digest)
			}
			if id := waitRunning(t, kc, appsNS, tc.app).Status.ContainerStatuses[0].ImageID; digestOf(id) != tc.digest {
				t.Errorf("the kubelet ran %s, signet verified %s", id, tc.digest)
			}
		})
	}

	t.Run("an unsigned image behind the mirror is refused", func(t *testing.T) {
		err := deniedBySignet(dryRunDeployment(ctx, kc, "rogue", "upstream.signet.test/apps/rogue:v1"))
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("beside other mutating webhooks: a digest a peer pinned is kept, a sidecar injected after signet is pinned, an unsigned one refused", func(t *testing.T) {
		testPeersBesideSignet(t, kc, reg+"/apps/app:v1", appDigest, reg+"/apps/mirrored:v1", mirroredDigest, reg+"/apps/rogue:v1")
	})

	t.Run("Flux-style drift check: a server-side dry run of Git's Deployment changes nothing, pinned", func(t *testing.T) {
		git := gitDeployment(t, "app", reg+"/apps/app:v1")
		flux.apply(ctx, git, false)
		live := flux.live(ctx, git[0])
		if got := containerImage(live); got != reg+"/apps/app:v1@"+appDigest {
			t.Fatalf("live image %s, want the webhook's pin", got)
		}
		if d := drift(live, flux.apply(ctx, git, true)[0]); d != "" {
			t.Errorf("the dry run of Git's manifest would change the live object:\n%s", d)
		}
		// What a client-side diff (Git against live) reports instead: the
		// pin, on every sync. Hence ServerSideDiff for Argo CD.
		if containerImage(git[0]) == containerImage(live) {
			t.Error("Git's manifest already names the digest: the test shows nothing")
		}
	})

	t.Run("with pin: false the spec keeps its tag: no drift, even client-side, and still verified", func(t *testing.T) {
		before := warn.count()
		git := gitDeployment(t, "web", reg+"/gitops/web:v1")
		flux.apply(ctx, git, false)
		live := flux.live(ctx, git[0])
		if got := containerImage(live); got != reg+"/gitops/web:v1" {
			t.Fatalf("live image %s, want the tag Git has", got)
		}
		if d := drift(live, flux.apply(ctx, git, true)[0]); d != "" {
			t.Errorf("the dry run of Git's manifest would change the live object:\n%s", d)
		}
		if w := warn.since(before); !strings.Contains(w, "verified at "+webDigest) || !strings.Contains(w, "keeps its tag") {
			t.Errorf("the apply's warnings do not name the verified digest and the kept tag: %q", w)
		}
		if id := waitRunning(t, kc, appsNS, "web").Status.ContainerStatuses[0].ImageID; digestOf(id) != webDigest {
			t.Errorf("the kubelet ran %s, signet verified %s", id, webDigest)
		}
		appImage(t, ctx, workload, reg+"/gitops/rogue:v1", "gitops-rogue")
		if _, err := flux.try(ctx, gitDeployment(t, "rogue-web", reg+"/gitops/rogue:v1")[0], true); deniedBySignet(err) != nil {
			t.Errorf("an unsigned image under pin: false: %v, want signet's denial", err)
		}
	})
}

// startPrivateRegistry is the stack's registry-with-a-private-CA for this test.
func startPrivateRegistry(t *testing.T, s *stack.Stack) *stack.TLSRegistry {
	t.Helper()
	r, err := s.Node.StartTLSRegistry(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// createTLSSecret is `kubectl -n signet-system create secret tls signet-tls
// --cert tls/tls.crt --key tls/tls.key`.
func createTLSSecret(t *testing.T, kc kubernetes.Interface, dir string) {
	t.Helper()
	crt, _ := os.ReadFile(filepath.Join(dir, "tls.crt"))
	key, _ := os.ReadFile(filepath.Join(dir, "tls.key"))
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "signet-tls", Namespace: releaseNS}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": crt, "tls.key": key}}
	if _, err := kc.CoreV1().Secrets(releaseNS).Create(t.Context(), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// gitDeployment is a Deployment as it sits in Git: the image by tag.
func gitDeployment(t *testing.T, name, image string) []*unstructured.Unstructured {
	t.Helper()
	d := deployment(name, image)
	d.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return []*unstructured.Unstructured{u}
}
