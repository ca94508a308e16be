package enforce

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func configMapRequest(t *testing.T, op admissionv1.Operation, data map[string]string, binary ...map[string][]byte) *admissionv1.AdmissionRequest {
	t.Helper()
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "signet-enforce", Namespace: "signet-system"}, Data: data}
	if len(binary) > 0 {
		cm.BinaryData = binary[0]
	}
	raw, err := json.Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionv1.AdmissionRequest{UID: "uid-cm", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
		Namespace: "signet-system", Name: "signet-enforce", Operation: op, Object: runtime.RawExtension{Raw: raw}}
}

func publicKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestTrustConfigRefusesWhatEnforceCouldNotLoad: the ConfigMap webhook admits
// exactly the trust files enforce would start with, resolving key paths to the
// ConfigMap's own keys, and points at file:line:column when it refuses.
func TestTrustConfigRefusesWhatEnforceCouldNotLoad(t *testing.T) {
	pub := publicKeyPEM(t)
	keyed := "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nidentities:\n  - name: release\n    key: {path: KEYPATH}\nimages:\n  - {match: ['**'], signedBy: [release]}\n"
	tc := NewTrustConfig("/etc/signet/trust.yaml")
	for _, c := range []struct {
		name   string
		op     admissionv1.Operation
		data   map[string]string
		binary map[string][]byte // the ConfigMap's binaryData: files in the pod too
		allow  bool
		want   []string // substrings of the refusal
	}{
		{"a valid trust file is admitted", admissionv1.Update, map[string]string{"trust.yaml": policyA}, nil, true, nil},
		{"a key beside the trust file is read from the ConfigMap", admissionv1.Create,
			map[string]string{"trust.yaml": strings.Replace(keyed, "KEYPATH", "cosign.pub", 1), "cosign.pub": pub}, nil, true, nil},
		{"a key in binaryData is a file beside the trust file too", admissionv1.Create,
			map[string]string{"trust.yaml": strings.Replace(keyed, "KEYPATH", "cosign.pub", 1)}, map[string][]byte{"cosign.pub": []byte(pub)}, true, nil},
		{"a trust file in binaryData is the file the pod loads", admissionv1.Update,
			nil, map[string][]byte{"trust.yaml": []byte(policyA)}, true, nil},
		{"an absolute path into the mount is the same key", admissionv1.Create,
			map[string]string{"trust.yaml": strings.Replace(keyed, "KEYPATH", "/etc/signet/cosign.pub", 1), "cosign.pub": pub}, nil, true, nil},
		{"a YAML syntax error is refused at its line", admissionv1.Update,
			map[string]string{"trust.yaml": "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages:\n  - {match: ['**'], deny: x\n"}, nil, false,
			[]string{"trust.yaml:", "invalid YAML"}},
		{"an unknown field is refused at line:column", admissionv1.Update,
			map[string]string{"trust.yaml": "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages:\n  - {match: ['**'], deny: x}\nenforcment: {mode: audit}\n"}, nil, false,
			[]string{"trust.yaml:5:1", "enforcment"}},
		{"a key the ConfigMap does not carry is refused", admissionv1.Create,
			map[string]string{"trust.yaml": strings.Replace(keyed, "KEYPATH", "cosign.pub", 1)}, nil, false,
			[]string{"trust.yaml:5:", "/etc/signet/cosign.pub", "keys map"}},
		{"a key the ConfigMap dropped while the trust file still names it is refused", admissionv1.Update,
			map[string]string{"trust.yaml": strings.Replace(keyed, "KEYPATH", "cosign.pub", 1), "old.pub": pub}, nil, false,
			[]string{"trust.yaml:5:", "/etc/signet/cosign.pub"}},
		{"a key under a subdirectory is refused: a ConfigMap volume is flat", admissionv1.Create,
			map[string]string{"trust.yaml": strings.Replace(keyed, "KEYPATH", "keys/cosign.pub", 1), "cosign.pub": pub}, nil, false,
			[]string{"trust.yaml:5:", "/etc/signet/keys/cosign.pub is outside /etc/signet"}},
		{"a key outside the mount is refused", admissionv1.Create,
			map[string]string{"trust.yaml": strings.Replace(keyed, "KEYPATH", "/home/me/cosign.pub", 1), "cosign.pub": pub}, nil, false,
			[]string{"trust.yaml:5:", "/home/me/cosign.pub is outside /etc/signet"}},
		{"a ConfigMap without the trust file is refused", admissionv1.Update, map[string]string{"other": "x"}, nil, false,
			[]string{"no trust.yaml key"}},
		{"a delete is not judged", admissionv1.Delete, map[string]string{"trust.yaml": "{"}, nil, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := tc.Review(configMapRequest(t, c.op, c.data, c.binary))
			if resp.Allowed != c.allow {
				t.Fatalf("allowed=%v, want %v: %+v", resp.Allowed, c.allow, resp.Result)
			}
			if c.allow {
				return
			}
			if resp.Result == nil || resp.Result.Code != 422 {
				t.Fatalf("refusal %+v, want a 422 status", resp.Result)
			}
			for _, w := range c.want {
				if !strings.Contains(resp.Result.Message, w) {
					t.Errorf("message %q lacks %q", resp.Result.Message, w)
				}
			}
		})
	}
}

// TestWebhookServesTrustConfig: the endpoint is served only when configured and
// answers through the same AdmissionReview decoding as the image webhooks.
func TestWebhookServesTrustConfig(t *testing.T) {
	body := review(t, configMapRequest(t, admissionv1.Update, map[string]string{"trust.yaml": "kind: [\n"}))
	if rec := post(&Webhook{}, TrustConfigPath, "application/json", body); rec.Code != 404 {
		t.Errorf("unconfigured: status %d, want 404", rec.Code)
	}
	rec := post(&Webhook{TrustConfig: NewTrustConfig("/etc/signet/trust.yaml")}, TrustConfigPath, "application/json", body)
	var out admissionv1.AdmissionReview
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Response == nil {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	if out.Response.Allowed || out.Response.UID != "uid-cm" {
		t.Errorf("broken trust file answered %+v", out.Response)
	}
	if rec := post(&Webhook{TrustConfig: NewTrustConfig("/etc/signet/trust.yaml")}, TrustConfigPath, "application/json", []byte("{")); rec.Code != 400 {
		t.Errorf("malformed review: status %d, want 400", rec.Code)
	}
}
