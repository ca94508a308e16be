package enforce

import (
	"bytes"
	"flag"
	"log/slog"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/golden"
	"github.com/signet-dev/signet/verify"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestLogAdmissionGolden: the decision log has one line per image, the
// accepted one at INFO with its rule and identity, the denied one at WARN
// with its typed reasons, each naming the request, the image's place, its
// digest and result and the policy hash (testdata/admission-log.golden,
// go test -update rewrites it).
func TestLogAdmissionGolden(t *testing.T) {
	rule := &verify.RuleRef{Name: "acme-apps", Kind: policy.RuleSignature, Pattern: "ghcr.io/acme/**"}
	a := &Admission{
		Request: &admissionv1.AdmissionRequest{UID: "7f3c", Namespace: "shop", Name: "web",
			Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}},
		Response:   &admissionv1.AdmissionResponse{},
		Pass:       Validating,
		Result:     ResultDeny,
		PolicyHash: "sha256:07f0",
		Images: []Image{{Pointer: "/spec/containers/0/image", Where: "container app", Image: "ghcr.io/acme/app:1.0"},
			{Pointer: "/spec/containers/1/image", Where: "container sidecar", Image: "ghcr.io/acme/sidecar:2"}},
		Decisions: []*verify.Decision{
			{Image: "ghcr.io/acme/app:1.0", Digest: "sha256:cd08", Allowed: true, Rule: rule,
				Signatures: []verify.SignatureResult{{Identity: "app-release"}}},
			{Image: "ghcr.io/acme/sidecar:2", Digest: "sha256:ab12", Rule: rule,
				Reasons: []verify.Reason{verify.NewReason(verify.CodeNoSignature, "no signature on sha256:ab12")}},
		},
	}
	var out bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, at slog.Attr) slog.Attr {
		if at.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return at
	}}))
	LogAdmission(log)(a)
	golden.Check(t, "testdata/admission-log.golden", out.String(), *update)
}
