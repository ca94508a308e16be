package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/test/stack"
)

// docBlock is the fenced YAML block after marker in docs/apiserver-auth.md,
// unindented.
func docBlock(t *testing.T, marker string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/apiserver-auth.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<!-- ` + marker + ` -->\s*\n( *)` + "```yaml\n(.*?)\n *```").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("no yaml block after <!-- %s --> in docs/apiserver-auth.md", marker)
	}
	indent := string(m[1])
	var lines []string
	for _, l := range strings.Split(string(m[2]), "\n") {
		lines = append(lines, strings.TrimPrefix(l, indent))
	}
	return strings.Join(lines, "\n") + "\n"
}

// clientCertificates writes a CA and a client certificate it issued for
// kube-apiserver, and returns the CA's path and the client's pair.
func clientCertificates(t *testing.T, dir string) (caPath, certPath, keyPath string, pair tls.Certificate) {
	t.Helper()
	ca := newCA(t, "apiserver client CA")
	certPEM, keyPEM := ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "kube-apiserver"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	caPath, certPath, keyPath = filepath.Join(dir, "client-ca.crt"), filepath.Join(dir, "apiserver-client.crt"), filepath.Join(dir, "apiserver-client.key")
	write(t, caPath, ca.PEM)
	write(t, certPath, certPEM)
	write(t, keyPath, keyPEM)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return caPath, certPath, keyPath, pair
}

// TestWebhookAuthenticatesTheAPIServer: kube-apiserver configured as
// docs/apiserver-auth.md says (its two files, verbatim but for paths and
// the webhook's host) presents its client certificate to enforce serve
// --client-ca-file, and its admissions are decided by signet; a forged
// AdmissionReview sent straight to the webhook port without that
// certificate is refused in the TLS handshake, and so is one with a
// certificate of another CA.
func TestWebhookAuthenticatesTheAPIServer(t *testing.T) {
	dir := t.TempDir()
	caPath, clientCert, clientKey, _ := clientCertificates(t, dir)
	port := stack.FreePort(t)
	kubeconfig := docBlock(t, "webhook-kubeconfig")
	kubeconfig = strings.ReplaceAll(kubeconfig, "signet-enforce.signet-system.svc", fmt.Sprintf("127.0.0.1:%d", port))
	kubeconfig = strings.ReplaceAll(kubeconfig, "/etc/kubernetes/signet/apiserver-client.crt", clientCert)
	kubeconfig = strings.ReplaceAll(kubeconfig, "/etc/kubernetes/signet/apiserver-client.key", clientKey)
	kubeconfigPath := filepath.Join(dir, "webhook-kubeconfig.yaml")
	write(t, kubeconfigPath, []byte(kubeconfig))
	admission := strings.ReplaceAll(docBlock(t, "admission-configuration"), "/etc/kubernetes/signet/webhook-kubeconfig.yaml", kubeconfigPath)
	admissionPath := filepath.Join(dir, "admission.yaml")
	write(t, admissionPath, []byte(admission))

	s := stack.New(t, stack.Options{Registry: true, Kube: true, KubeArgs: []string{"--admission-control-config-file=" + admissionPath}})
	image := s.Registry.Host + "/vendor/db:7"
	digest := push(t, image)
	policy := writePolicy(t, dir, vendorPolicy, map[string]string{"REGISTRY": s.Registry.Host})
	cert, key, caPEM := servingCert(t, dir)
	launchEnforce(t, policy, cert, key, launch{port: port, args: []string{"--kubeconfig", s.Kube.Kubeconfig, "--client-ca-file", caPath}})
	kc, err := s.Kube.Client()
	if err != nil {
		t.Fatal(err)
	}
	createNamespace(t, kc, "prod")
	registerWebhooks(t, kc, port, caPEM)
	ctx := context.Background()

	// Only signet's own denial proves the apiserver got through the
	// handshake: without its certificate the call fails with a TLS error.
	waitFor(t, 30*time.Second, "the apiserver's admissions to reach signet", func() error {
		_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("probe-"+randSuffix(), nil, []string{"docker.io/library/nginx:1"}), metav1.CreateOptions{})
		if err == nil {
			return fmt.Errorf("an image the policy denies was admitted")
		}
		if !strings.Contains(err.Error(), "nothing else runs here") {
			return err
		}
		return nil
	})
	p, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("vendor", nil, []string{image}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the apiserver's admission of an allowed image failed: %v", err)
	}
	if want := image + "@" + digest.DigestStr(); p.Spec.Containers[0].Image != want {
		t.Fatalf("stored image %q, want %q", p.Spec.Containers[0].Image, want)
	}

	forged := webhookClient(caPEM, port)
	if ok, msg, _ := forged.admit(t, image); ok || !strings.Contains(msg, "certificate required") {
		t.Fatalf("a review without a client certificate: allowed=%v, %s; want refused in the handshake", ok, msg)
	}
	_, _, _, other := clientCertificates(t, t.TempDir())
	withOther := webhookClient(caPEM, port)
	withOther.client.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{other}
	if ok, msg, _ := withOther.admit(t, image); ok || !strings.Contains(msg, "unknown certificate authority") {
		t.Fatalf("a review with a certificate of another CA: allowed=%v, %s; want refused in the handshake", ok, msg)
	}
}
