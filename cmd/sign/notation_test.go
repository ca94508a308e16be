package main

import (
	"crypto/x509/pkix"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/test/testworld"
)

const notationCLIPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: acme-release
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subject: "` + notationtest.SubjectDN + `"
images:
  - {match: [REGISTRY/acme/**], signedBy: [acme-release]}
  - {match: ["**"], deny: no}
`

// TestNotationSignImageThroughTheBinary: sign image --sigstore=false with a
// Notation key and chain signs the digest with Notation only, the
// post-check admits it, and preflight refuses a certificate of another
// subject before anything is pushed.
func TestNotationSignImageThroughTheBinary(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	ca := notationtest.NewCA(t, "Acme")
	files := map[string][]byte{"acme-root.pem": ca.RootPEM()}
	for name, l := range map[string]*notationtest.Leaf{"release": ca.Leaf(t), "intruder": ca.Leaf(t, notationtest.WithSubject(intruder()))} {
		files[name+".key"], files[name+".crt"] = l.KeyPEM(t), notationtest.PEM(l.Chain...)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(w.Dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w.SetPolicy(notationCLIPolicy)
	w.Push("acme/app:1.0")
	args := func(who string) []string {
		return []string{"image", "--policy", w.PolicyPath, "--sigstore=false", "--notation-key", filepath.Join(w.Dir, who+".key"),
			"--notation-cert", filepath.Join(w.Dir, who+".crt"), "--notation-envelope", "cose", "--output", "json", w.Ref("acme/app:1.0")}
	}
	stdout, stderr, code := runSign(t, nil, args("release")...)
	if code != 0 {
		t.Fatalf("sign image exit %d:\n%s\n%s", code, stdout, stderr)
	}
	var res sign.Report
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if res.Decision == nil || !res.Decision.Allowed || len(res.Signed) != 1 || res.Signed[0].Notation == "" || res.Signed[0].Bundle != "" {
		t.Fatalf("want one Notation signature and an allowed post-check:\n%s", stdout)
	}
	stdout, stderr, code = runSign(t, nil, args("intruder")...)
	if code != cliapp.ExitDenied || !strings.Contains(stdout+stderr, "notation.subject") {
		t.Fatalf("another subject: exit %d, want %d naming notation.subject:\n%s\n%s", code, cliapp.ExitDenied, stdout, stderr)
	}
	_, stderr, code = runSign(t, nil, "image", "--policy", w.PolicyPath, "--sigstore=false", w.Ref("acme/app:1.0"))
	if code != 2 || !strings.Contains(stderr, "nothing to sign with") {
		t.Fatalf("--sigstore=false alone: exit %d: %s", code, stderr)
	}
}

func intruder() pkix.Name {
	n := notationtest.Subject
	n.CommonName = "intruder"
	return n
}
