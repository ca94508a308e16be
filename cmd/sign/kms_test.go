package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/test/testworld"
)

// kmsPlugin builds signet-kms beside the test's sign binary and links the
// sigstore-kms-* names to it there, as a release archive lays them out.
var kmsPlugin = sync.OnceValue(func() error {
	dir := filepath.Dir(signBin)
	bin := filepath.Join(dir, "signet-kms")
	build := exec.Command("go", "build", "-o", bin, "../signet-kms")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return err
	}
	return exec.Command(bin, "link", dir).Run()
})

const kmsTrust = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: trusted_root.json, transparencyLog: optional}
identities:
  - name: release-kms
    key: {kms: "awskms:///alias/release"}
images:
  - match: [REGISTRY/acme/**]
    signedBy: [release-kms]
`

// TestKMSKeyThroughThePlugin signs with --key awskms://… and verifies a
// trust file's kms: identity against a real AWS KMS API (local-kms), with
// the provider SDKs only in the signet-kms plugin: sign finds it beside its
// own executable (PATH holds no plugin). Without the plugin both fail and
// say which executable they looked for.
func TestKMSKeyThroughThePlugin(t *testing.T) {
	if err := kmsPlugin(); err != nil {
		t.Fatalf("building signet-kms: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kms := stack.StartLocalKMS(t, key, "alias/release")
	w := testworld.New(t, testworld.Options{Policy: kmsTrust})
	w.Push("acme/app:1")
	image := w.Ref("acme/app:1")
	env := append([]string{"PATH=/usr/bin:/bin", "SIGNET_TLOG_UPLOAD=false"}, kms.Env...)

	stdout, stderr, code := runSign(t, env, "image", "--policy", w.PolicyPath, "--key", kms.KeyURI(), "--output", "json", image)
	if code != 0 {
		t.Fatalf("sign image --key %s: exit %d\n%s\n%s", kms.KeyURI(), code, stdout, stderr)
	}
	var res struct{ PostCheck struct{ Allowed bool } }
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || !res.PostCheck.Allowed {
		t.Fatalf("post-check through the KMS key did not allow (%v):\n%s\n%s", err, stdout, stderr)
	}
	if stdout, stderr, code := runSign(t, env, "verify", "--policy", w.PolicyPath, image); code != 0 {
		t.Fatalf("sign verify with a kms: identity: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Another key under the trust file's URI: the signature does not verify.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	wrong := stack.StartLocalKMS(t, other, "alias/release")
	wrongEnv := append([]string{"PATH=/usr/bin:/bin"}, wrong.Env...)
	if _, stderr, code := runSign(t, wrongEnv, "verify", "--policy", w.PolicyPath, image); code != 1 {
		t.Fatalf("a signature by another key verified under the KMS identity: exit %d\n%s", code, stderr)
	}

	// No plugin anywhere: a clear error naming the executable, never a pass.
	lone := filepath.Join(t.TempDir(), "sign")
	if err := os.Link(signBin, lone); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(lone, "verify", "--policy", w.PolicyPath, image)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "sigstore-kms-awskms") {
		t.Fatalf("without the plugin: %v\n%s", err, out)
	}
}
