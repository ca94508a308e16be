package main

import (
	"bytes"
	"crypto"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// TestSignBlob: `sign blob` writes a Sigstore bundle that sigstore-go
// verifies against the key and the file's bytes, and not against other bytes.
func TestSignBlob(t *testing.T) {
	dir := t.TempDir()
	env := []string{"COSIGN_PASSWORD=pw"}
	if _, stderr, code := runSign(t, env, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "k")); code != 0 {
		t.Fatal(stderr)
	}
	sums := filepath.Join(dir, "SHA256SUMS")
	data := []byte("aaaa  sign_linux_amd64\n")
	os.WriteFile(sums, data, 0o644)
	if _, stderr, code := runSign(t, env, "blob", "--key", filepath.Join(dir, "k.key"), "--tlog-upload=false", sums); code != 0 {
		t.Fatalf("sign blob: exit %d\n%s", code, stderr)
	}
	b, err := bundle.LoadJSONFromPath(sums + ".sigstore.json")
	if err != nil {
		t.Fatalf("the bundle does not load: %v", err)
	}
	pemBytes, _ := os.ReadFile(filepath.Join(dir, "k.pub"))
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	})
	v, err := sgverify.NewVerifier(tm, sgverify.WithCurrentTime())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithArtifact(bytes.NewReader(data)), sgverify.WithKey())); err != nil {
		t.Fatalf("the bundle does not verify: %v", err)
	}
	if _, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithArtifact(bytes.NewReader(append(data, 'x'))), sgverify.WithKey())); err == nil {
		t.Fatal("the bundle verifies other bytes")
	}
}
