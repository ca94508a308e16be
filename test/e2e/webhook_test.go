package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/stack"
)

const webhookPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: release-key
    key: {path: KEY_PUB}
images:
  - {name: acme, match: [REGISTRY/acme/**], signedBy: [release-key]}
  - {name: vendor, match: [REGISTRY/vendor/**], signature: optional}
  - {name: private, match: [PRIVATE/**], signedBy: [release-key]}
  - {name: flaky, match: [FLAKY/**], signedBy: [release-key]}
  - {name: default-deny, match: ["**"], deny: only approved registries may run}
enforcement:
  namespaces: {audit: [dev], exempt: [exempt-ns]}
`

// warnings collects apiserver warnings (audit-mode violations arrive so).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.msgs)
}

// since joins the warnings received after the first n.
func (w *warnings) since(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs[n:], "\n")
}

// TestWebhookOnRealAPIServer registers `enforce serve` (a real process, TLS)
// with the real kube-apiserver by URL and CA bundle and checks that workloads
// are admitted, pinned or denied exactly as the trust file says.
func TestWebhookOnRealAPIServer(t *testing.T) {
	s := stack.New(t, stack.Options{Registry: true, Kube: true, KubeAudit: true})
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := filepath.Join(dir, "cosign.pub")
	write(t, pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	private, flaky := privateRegistry(t), httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(flaky.Close)
	flakyHost := strings.TrimPrefix(flaky.URL, "http://")
	policyPath := writePolicy(t, dir, webhookPolicy, map[string]string{"KEY_PUB": pub, "REGISTRY": s.Registry.Host, "PRIVATE": private.host, "FLAKY": flakyHost})

	ss, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ss.KeySigner(key, sigstoretest.WithoutTlog())
	if err != nil {
		t.Fatal(err)
	}
	sign := func(d name.Digest, opts ...remote.Option) {
		b, err := signer.SignBundle(sigstoretest.Statement(mustHash(t, d), ocisig.CosignSignPredicateType, nil))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ocisig.WriteBundle(context.Background(), d, b, ocisig.CosignSignPredicateType, opts...); err != nil {
			t.Fatal(err)
		}
	}
	signed := push(t, s.Registry.Host+"/acme/app:1.0")
	sign(signed)
	push(t, s.Registry.Host+"/acme/app:unsigned")
	vendor := push(t, s.Registry.Host+"/vendor/db:7")
	signedTag, unsignedTag, vendorTag := s.Registry.Host+"/acme/app:1.0", s.Registry.Host+"/acme/app:unsigned", s.Registry.Host+"/vendor/db:7"

	privateImg := push(t, private.host+"/team/app:1", private.auth)
	sign(privateImg, private.auth)
	flakyImg := push(t, flakyHost+"/app:1")
	sign(flakyImg)

	cert, certKey, caPEM := servingCert(t, dir)
	port, ops := startEnforce(t, policyPath, cert, certKey, "--kubeconfig", s.Kube.Kubeconfig)
	var warn warnings
	cfg := rest.CopyConfig(s.Kube.Config)
	cfg.WarningHandler = &warn
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{"prod", "dev", "exempt-ns"} {
		createNamespace(t, kc, ns)
	}
	registerWebhooks(t, kc, port, caPEM)

	// The apiserver picks webhook configurations up asynchronously: wait
	// until an unsigned pod is refused.
	waitFor(t, 30*time.Second, "the webhook to be active", func() error {
		_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("probe-"+randSuffix(), nil, []string{unsignedTag}), metav1.CreateOptions{})
		if err == nil {
			return fmt.Errorf("unsigned probe pod admitted")
		}
		if !strings.Contains(err.Error(), "signet denied") {
			return err
		}
		return nil
	})

	t.Run("signed pod is admitted and stored with the verified digest", func(t *testing.T) {
		p, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("signed", nil, []string{signedTag}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := kc.CoreV1().Pods("prod").Get(ctx, p.Name, metav1.GetOptions{})
		if want := signedTag + "@" + signed.DigestStr(); got.Spec.Containers[0].Image != want {
			t.Fatalf("stored image %q, want %q", got.Spec.Containers[0].Image, want)
		}
	})
	t.Run("the audit log carries the policy hash, identity and digest of the admitted pod", func(t *testing.T) {
		p, err := policy.LoadFile(policyPath)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"pin.signet.dev/policy-hash":    p.Hash,
			"verify.signet.dev/policy-hash": p.Hash,
			"verify.signet.dev/identity":    "release-key",
			"verify.signet.dev/digest":      "container c0=" + signed.DigestStr(),
		}
		waitFor(t, 10*time.Second, "the pod's audit event with signet's annotations", func() error {
			ev, err := auditEvent(s.Kube.AuditLog, "create", "pods", "prod", "signed")
			if err != nil {
				return err
			}
			for k, v := range want {
				if ev.Annotations[k] != v {
					return fmt.Errorf("audit annotation %s = %q, want %q (all: %v)", k, ev.Annotations[k], v, ev.Annotations)
				}
			}
			return nil
		})
	})
	denyCases := []struct {
		name   string
		create func() error
		reason string
	}{
		{"unsigned pod is denied", func() error {
			_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("unsigned", nil, []string{unsignedTag}), metav1.CreateOptions{})
			return err
		}, "has no signatures"},
		{"unsigned init container is denied", func() error {
			_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("badinit", []string{unsignedTag}, []string{signedTag}), metav1.CreateOptions{})
			return err
		}, "initContainer init0"},
		{"image from an unapproved registry is denied", func() error {
			_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("nginx", nil, []string{"nginx:latest"}), metav1.CreateOptions{})
			return err
		}, "only approved registries may run"},
		{"deployment with an unsigned image is denied", func() error {
			_, err := kc.AppsV1().Deployments("prod").Create(ctx, testDeployment("web-unsigned", unsignedTag), metav1.CreateOptions{})
			return err
		}, "has no signatures"},
		{"cronjob with an unsigned image is denied", func() error {
			_, err := kc.BatchV1().CronJobs("prod").Create(ctx, testCronJob("nightly", unsignedTag), metav1.CreateOptions{})
			return err
		}, "has no signatures"},
	}
	for _, c := range denyCases {
		t.Run(c.name, func(t *testing.T) {
			err := c.create()
			if err == nil || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("want a denial saying %q, got %v", c.reason, err)
			}
		})
	}
	t.Run("denials are recorded as Kubernetes events", func(t *testing.T) {
		waitFor(t, 10*time.Second, "a SignetDenied event", func() error {
			list, err := kc.CoreV1().Events("prod").List(ctx, metav1.ListOptions{FieldSelector: "reason=SignetDenied"})
			if err != nil {
				return err
			}
			for _, e := range list.Items {
				if e.InvolvedObject.Name == "unsigned" && strings.Contains(e.Message, "has no signatures") {
					return nil
				}
			}
			return fmt.Errorf("%d SignetDenied events, none for pod unsigned", len(list.Items))
		})
	})
	t.Run("signed deployment is admitted and its template pinned", func(t *testing.T) {
		d, err := kc.AppsV1().Deployments("prod").Create(ctx, testDeployment("web", signedTag), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != signedTag+"@"+signed.DigestStr() {
			t.Fatalf("deployment image %q not pinned", img)
		}
	})
	t.Run("signed cronjob is admitted and pinned", func(t *testing.T) {
		cj, err := kc.BatchV1().CronJobs("prod").Create(ctx, testCronJob("signed", signedTag), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if img := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, "@"+signed.DigestStr()) {
			t.Fatalf("cronjob image %q not pinned", img)
		}
	})
	t.Run("third-party image is admitted pinned without signature", func(t *testing.T) {
		p, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("vendor", nil, []string{vendorTag}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.Containers[0].Image != vendorTag+"@"+vendor.DigestStr() {
			t.Fatalf("vendor image %q not pinned", p.Spec.Containers[0].Image)
		}
	})
	t.Run("unsigned ephemeral container is denied", func(t *testing.T) {
		p, err := kc.CoreV1().Pods("prod").Get(ctx, "signed", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: unsignedTag}})
		_, err = kc.CoreV1().Pods("prod").UpdateEphemeralContainers(ctx, "signed", p, metav1.UpdateOptions{})
		if err == nil || !strings.Contains(err.Error(), "ephemeralContainer debug") {
			t.Fatalf("want the ephemeral container denied, got %v", err)
		}
	})
	t.Run("exempt namespace admits an unsigned pod", func(t *testing.T) {
		if _, err := kc.CoreV1().Pods("exempt-ns").Create(ctx, testPod("unsigned", nil, []string{unsignedTag}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("audit namespace admits an unsigned pod with one warning and an event kubectl describe finds", func(t *testing.T) {
		before := warn.count()
		p, err := kc.CoreV1().Pods("dev").Create(ctx, testPod("unsigned", nil, []string{unsignedTag}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(warn.since(before), "signet audit: container c0"); got != 1 {
			t.Fatalf("%d audit warnings for one admission, want 1: %q", got, warn.since(before))
		}
		// kubectl describe pod looks events up by the object's kind, name,
		// namespace and UID.
		selector := fmt.Sprintf("involvedObject.kind=Pod,involvedObject.name=%s,involvedObject.namespace=dev,involvedObject.uid=%s", p.Name, p.UID)
		waitFor(t, 10*time.Second, "the SignetAuditViolation event by involvedObject", func() error {
			list, err := kc.CoreV1().Events("dev").List(ctx, metav1.ListOptions{FieldSelector: selector})
			if err != nil {
				return err
			}
			if len(list.Items) != 1 || list.Items[0].Reason != "SignetAuditViolation" {
				return fmt.Errorf("events for %s: %+v", selector, list.Items)
			}
			first, _, _ := strings.Cut(list.Items[0].Message, "\n")
			// The validating pass sees the image already pinned by the mutating one.
			if !strings.HasPrefix(first, "container c0 ("+unsignedTag+"@sha256:") || !strings.Contains(first, "has no signatures") {
				return fmt.Errorf("first line does not name the image and why: %q", first)
			}
			return nil
		})
	})
	t.Run("a dry-run denial records no event", func(t *testing.T) {
		_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("dryrun", nil, []string{unsignedTag}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "has no signatures") {
			t.Fatalf("want the dry-run denied, got %v", err)
		}
		// enforce sends events in order from one queue: once the event of a
		// later, real denial exists, the dry-run's would exist too.
		if _, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("after-dryrun", nil, []string{unsignedTag}), metav1.CreateOptions{}); err == nil {
			t.Fatal("unsigned pod admitted")
		}
		waitFor(t, 10*time.Second, "the later denial's event", func() error {
			list, err := kc.CoreV1().Events("prod").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=after-dryrun"})
			if err != nil || len(list.Items) == 0 {
				return fmt.Errorf("no event yet (%v)", err)
			}
			return nil
		})
		list, err := kc.CoreV1().Events("prod").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=dryrun"})
		if err != nil || len(list.Items) != 0 {
			t.Fatalf("a dry-run request left %d events (%v): %+v", len(list.Items), err, list.Items)
		}
	})
	t.Run("metrics count each admission once", func(t *testing.T) {
		body := scrapeMetrics(t, ops)
		for _, want := range []string{
			`signet_admissions_total{namespace="dev",result="audit-violation"} 1`,
			`signet_image_decisions_total{namespace="dev",result="audit-violation",rule="acme"} 1`,
			`signet_admissions_total{namespace="prod",result="allow"}`,
			`signet_build_info{`,
			`signet_policy_info{hash="sha256:`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("a private registry is verified with the pod's pull secret", func(t *testing.T) {
		privateTag := private.host + "/team/app:1"
		if _, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("private-nocred", nil, []string{privateTag}), metav1.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
			t.Fatalf("without a pull secret the private image must be denied with the registry's answer, got %v", err)
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + private.host + `":{"username":"ci","password":"s3cret"}}}`)}}
		if _, err := kc.CoreV1().Secrets("prod").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := testPod("private", nil, []string{privateTag})
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
		got, err := kc.CoreV1().Pods("prod").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Containers[0].Image != privateTag+"@"+privateImg.DigestStr() {
			t.Fatalf("private image %q not pinned", got.Spec.Containers[0].Image)
		}
	})
	t.Run("a registry stopped mid-test gives a deny with its reason inside the timeout", func(t *testing.T) {
		if _, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("flaky-up", nil, []string{flakyHost + "/app:1"}), metav1.CreateOptions{}); err != nil {
			t.Fatalf("before the stop: %v", err)
		}
		flaky.Close()
		start := time.Now()
		_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("flaky-down", nil, []string{flakyHost + "/other:2"}), metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "could not resolve") {
			t.Fatalf("want a deny naming the unreachable registry, got %v", err)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Fatalf("answered after %s, past the 10s webhook timeout", el)
		}
	})
	t.Run("a trust-file edit changes the decision without restart; updates that change no image still pass", func(t *testing.T) {
		held := testPod("held", nil, []string{signedTag})
		held.Finalizers = []string{"example.com/hold"}
		if _, err := kc.CoreV1().Pods("prod").Create(ctx, held, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := kc.CoreV1().Pods("prod").Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err) // held by its finalizer: Terminating
		}
		data, _ := os.ReadFile(policyPath)
		edited := strings.Replace(string(data), "{name: acme, match: [", "{name: acme, match: [nowhere.example/x, ", 1)
		edited = strings.Replace(edited, "signedBy: [release-key]}", "deny: acme images are frozen for the release}", 1)
		write(t, policyPath, []byte(edited))
		waitFor(t, 20*time.Second, "the edited policy to deny", func() error {
			_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("after-edit-"+randSuffix(), nil, []string{signedTag}), metav1.CreateOptions{})
			if err == nil {
				return fmt.Errorf("still admitted")
			}
			if !strings.Contains(err.Error(), "frozen for the release") {
				return err
			}
			return nil
		})
		// Real UPDATEs from the apiserver, with the old object: a label and a
		// finalizer removal change no image, so the frozen rule does not apply.
		p, err := kc.CoreV1().Pods("prod").Get(ctx, "signed", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Labels = map[string]string{"frozen": "yes"}
		if _, err := kc.CoreV1().Pods("prod").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Errorf("kubectl label under the tightened trust file: %v", err)
		}
		if p, err = kc.CoreV1().Pods("prod").Get(ctx, "held", metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil {
			t.Fatalf("pod held is not terminating: %v", err)
		}
		p.Finalizers = nil
		if _, err := kc.CoreV1().Pods("prod").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Errorf("a finalizer removal under the tightened trust file: %v", err)
		}
		write(t, policyPath, data)
	})
}

func testPod(name string, init, containers []string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for i, img := range init {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: fmt.Sprintf("init%d", i), Image: img})
	}
	for i, img := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: img})
	}
	return p
}

func testDeployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}}}}}
}

func testCronJob(name, image string) *batchv1.CronJob {
	return &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *",
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyOnFailure, Containers: []corev1.Container{{Name: "job", Image: image}}}}}}}}
}

func createNamespace(t *testing.T, kc kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// No controller manager runs: create the service account pods need.
	if _, err := kc.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func registerWebhooks(t *testing.T, kc kubernetes.Interface, port int, caPEM []byte) {
	t.Helper()
	fail, none := admissionregv1.Fail, admissionregv1.SideEffectClassNone
	timeout := int32(10)
	rules := []admissionregv1.RuleWithOperations{
		{Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update},
			Rule: admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods", "pods/ephemeralcontainers", "replicationcontrollers"}}},
		{Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update},
			Rule: admissionregv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments", "replicasets", "statefulsets", "daemonsets"}}},
		{Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update},
			Rule: admissionregv1.Rule{APIGroups: []string{"batch"}, APIVersions: []string{"v1"}, Resources: []string{"jobs", "cronjobs"}}},
	}
	nsSel := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", "exempt-ns"}}}}
	client := func(path string) admissionregv1.WebhookClientConfig {
		u := fmt.Sprintf("https://127.0.0.1:%d%s", port, path)
		return admissionregv1.WebhookClientConfig{URL: &u, CABundle: caPEM}
	}
	ctx := context.Background()
	_, err := kc.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "signet"},
		Webhooks: []admissionregv1.MutatingWebhook{{Name: "pin.signet.dev", ClientConfig: client("/mutate"), Rules: rules, FailurePolicy: &fail,
			SideEffects: &none, TimeoutSeconds: &timeout, NamespaceSelector: nsSel, AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kc.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "signet"},
		Webhooks: []admissionregv1.ValidatingWebhook{{Name: "verify.signet.dev", ClientConfig: client("/validate"), Rules: rules, FailurePolicy: &fail,
			SideEffects: &none, TimeoutSeconds: &timeout, NamespaceSelector: nsSel, AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func mustHash(t *testing.T, d name.Digest) v1Hash {
	t.Helper()
	h, err := newHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func randSuffix() string { return fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000) }
