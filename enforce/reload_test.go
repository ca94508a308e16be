package enforce

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const policyA = "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages: [{match: ['**'], deny: a}]\n"
const policyB = "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages: [{match: ['**'], deny: b}]\n"

// TestReloaderKeepsLastGoodPolicy: a valid edit takes effect; an invalid
// one is counted and the last good policy stays in force.
func TestReloaderKeepsLastGoodPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trust.yaml")
	writeFile(t, path, policyA)
	r := &Reloader{PolicyPath: path}
	if err := r.Load(); err != nil {
		t.Fatal(err)
	}
	first := r.Policy().Hash

	r.Check()
	if r.PolicyReloads.Load() != 0 {
		t.Fatal("unchanged file counted as a reload")
	}
	writeFile(t, path, policyB)
	r.Check()
	if r.Policy().Hash == first || r.PolicyReloads.Load() != 1 {
		t.Fatalf("valid edit not applied (reloads %d)", r.PolicyReloads.Load())
	}
	second := r.Policy().Hash

	writeFile(t, path, strings.Replace(policyB, "deny: b", "deny: b, unknownField: 1", 1))
	r.Check()
	r.Check() // a bad file is reported once, not on every poll
	if r.Policy().Hash != second || r.PolicyFailures.Load() != 1 {
		t.Fatalf("invalid edit: hash changed=%v failures=%d", r.Policy().Hash != second, r.PolicyFailures.Load())
	}

	// Kubernetes updates ConfigMap volumes by swapping a symlink.
	target := filepath.Join(filepath.Dir(path), "v2.yaml")
	writeFile(t, target, policyA)
	os.Remove(path)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	r.Check()
	if r.Policy().Hash != first {
		t.Fatal("symlink swap not picked up")
	}
}

func TestReloaderRefusesToStartWithoutAPolicy(t *testing.T) {
	r := &Reloader{PolicyPath: filepath.Join(t.TempDir(), "missing.yaml")}
	if err := r.Load(); err == nil {
		t.Fatal("started without a policy")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
