package deploy

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/signet-dev/signet/enforce"
)

// reviewCounter serves enforce's trust ConfigMap validator and counts the
// reviews it was sent, by namespace/name: what the apiserver chose to send.
type reviewCounter struct {
	next http.Handler
	url  string // where it is served
	mu   sync.Mutex
	seen map[string]int
}

func (rc *reviewCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ar admissionv1.AdmissionReview
	if json.Unmarshal(body, &ar) == nil && ar.Request != nil {
		rc.mu.Lock()
		rc.seen[ar.Request.Namespace+"/"+ar.Request.Name]++
		rc.mu.Unlock()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rc.next.ServeHTTP(w, r)
}

func (rc *reviewCounter) count(ns, name string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.seen[ns+"/"+name]
}

// checkTrustConfigWebhook registers the chart's trust-config.signet.dev
// webhook exactly as rendered (rules, namespaceSelector, matchConditions,
// failurePolicy) with the real apiserver, pointed at enforce's validator on
// loopback, and edits ConfigMaps the ways an operator does. The apiserver,
// not the validator, decides which ConfigMaps are sent: the trust ConfigMap
// by its name, labels or not, and nothing else.
func checkTrustConfigWebhook(t *testing.T, ctx context.Context, kc *kubernetes.Clientset, objs []runtime.Object) {
	rendered, _ := trustConfigHook(t, objs)
	policyFile, _ := arg(webhookDeployment(t, objs).Spec.Template.Spec.Containers[0].Args, "policy")
	counter := &reviewCounter{next: &enforce.Webhook{TrustConfig: enforce.NewTrustConfig(policyFile)}, seen: map[string]int{}}
	caPEM := serveTLS(t, counter)
	hook := rendered.DeepCopy()
	url := counter.url + enforce.TrustConfigPath
	hook.ClientConfig = admissionregv1.WebhookClientConfig{URL: &url, CABundle: caPEM}
	vc := kc.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	cfg := &admissionregv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "signet-trust-config-test"},
		Webhooks: []admissionregv1.ValidatingWebhook{*hook}}
	if _, err := vc.Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatalf("apiserver rejects the rendered trust-config webhook: %v", err)
	}
	t.Cleanup(func() { _ = vc.Delete(context.Background(), cfg.Name, metav1.DeleteOptions{}) })

	cms := kc.CoreV1().ConfigMaps(releaseNamespace)
	current := func() *corev1.ConfigMap {
		t.Helper()
		cm, err := cms.Get(ctx, fullname, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}
	broken := "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages:\n  - {match: ['**'], deny: x}\nenforcment: {mode: audit}\n"
	withData := func(cm *corev1.ConfigMap, data map[string]string) *corev1.ConfigMap {
		cm = cm.DeepCopy()
		cm.Data = data
		return cm
	}
	// The apiserver picks a new configuration up asynchronously: wait until a
	// dry-run edit (nothing stored) is refused.
	waitFor(t, 30*time.Second, "the apiserver to call the trust ConfigMap webhook", func() error {
		_, err := cms.Update(ctx, withData(current(), map[string]string{"trust.yaml": broken}), metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			return fmt.Errorf("a broken trust file was admitted")
		}
		return nil
	})
	refused := func(err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatal("admitted, want refused by trust-config.signet.dev")
		}
		for _, w := range append(want, trustConfigWebhook) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("refusal %q lacks %q", err, w)
			}
		}
	}
	pub := testPublicKey(t)
	keyed := keyedTrustPolicy("cosign.pub")

	t.Run("an edit enforce could not start with is refused at line:column", func(t *testing.T) {
		_, err := cms.Update(ctx, withData(current(), map[string]string{"trust.yaml": broken}), metav1.UpdateOptions{})
		refused(err, "trust.yaml:5:1", "enforcment")
	})
	t.Run("a key file added with the trust file naming it is admitted", func(t *testing.T) {
		if _, err := cms.Update(ctx, withData(current(), map[string]string{"trust.yaml": keyed, "cosign.pub": pub}), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("dropping a key file the trust file still names is refused", func(t *testing.T) {
		_, err := cms.Update(ctx, withData(current(), map[string]string{"trust.yaml": keyed}), metav1.UpdateOptions{})
		refused(err, "/etc/signet/cosign.pub")
	})
	t.Run("kubectl replace --force: recreated without labels, still validated by name", func(t *testing.T) {
		if err := cms.Delete(ctx, fullname, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		bare := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fullname, Namespace: releaseNamespace}}
		_, err := cms.Create(ctx, withData(bare, map[string]string{"trust.yaml": broken}), metav1.CreateOptions{})
		refused(err, "trust.yaml:5:1")
		if _, err := cms.Create(ctx, withData(bare, map[string]string{"trust.yaml": keyed, "cosign.pub": pub}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("other ConfigMaps are never sent to the validator", func(t *testing.T) {
		other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: releaseNamespace, Labels: current().Labels},
			Data: map[string]string{"trust.yaml": broken}}
		if _, err := cms.Create(ctx, other, metav1.CreateOptions{}); err != nil {
			t.Fatalf("a ConfigMap that is not the trust ConfigMap was refused: %v", err)
		}
		if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tenant-c"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		sameName := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fullname, Namespace: "tenant-c"}, Data: map[string]string{"trust.yaml": broken}}
		if _, err := kc.CoreV1().ConfigMaps("tenant-c").Create(ctx, sameName, metav1.CreateOptions{}); err != nil {
			t.Fatalf("the trust ConfigMap's name in another namespace was refused: %v", err)
		}
		if n := counter.count(releaseNamespace, "unrelated") + counter.count("tenant-c", fullname); n != 0 {
			t.Errorf("the apiserver sent %d reviews of other ConfigMaps to the validator", n)
		}
	})
}

// serveTLS serves h over HTTPS on loopback with a fresh self-signed
// certificate for 127.0.0.1; it sets rc.url and returns the CA bundle.
func serveTLS(t *testing.T, rc *reviewCounter) []byte {
	t.Helper()
	dir := t.TempDir()
	certPath, keyPath, _ := selfSignedCert(t, dir)
	srv := httptest.NewUnstartedServer(rc)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	caPEM, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	return caPEM
}

// waitFor polls cond until it returns nil or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
