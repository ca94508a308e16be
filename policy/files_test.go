package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const filesPolicy = header + `sigstore: {trustedRoot: root.json}
identities:
  - {name: release-key, key: {path: cosign.pub}}
images:
  - {name: acme, match: [ghcr.io/acme/**], signedBy: [release-key]}
`

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newPublicKeyPEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestPolicyRecordsEveryFileItRead: LoadFile records the trust file and
// every file it names, with the digest of what it read, and a new content
// in any named file means a new policy hash and a new hash of the rule that
// uses it: a rotated key reaches the cache keys, not only the watcher.
func TestPolicyRecordsEveryFileItRead(t *testing.T) {
	dir := t.TempDir()
	trust, root, key := filepath.Join(dir, "trust.yaml"), filepath.Join(dir, "root.json"), filepath.Join(dir, "cosign.pub")
	writeTestFile(t, trust, []byte(filesPolicy))
	writeTestFile(t, root, []byte(`{"v":1}`))
	writeTestFile(t, key, newPublicKeyPEM(t))
	p := mustLoad(t, trust)
	var paths []string
	for _, f := range p.Files {
		paths = append(paths, f.Path)
		if f.Digest == "" || f.Changed() {
			t.Errorf("%s recorded as %q, changed %v", f.Path, f.Digest, f.Changed())
		}
	}
	if want := []string{trust, root, key}; !slices.Equal(paths, want) {
		t.Fatalf("files %v, want %v", paths, want)
	}

	for _, tc := range []struct {
		name    string
		path    string
		content []byte
	}{
		{"a rotated key file", key, newPublicKeyPEM(t)},
		{"a new trusted root file", root, []byte(`{"v":2}`)},
	} {
		t.Run(tc.name+" changes the policy hash and the rule hash", func(t *testing.T) {
			before := mustLoad(t, trust)
			writeTestFile(t, tc.path, tc.content)
			changed := 0
			for _, f := range before.Files {
				if f.Changed() {
					changed++
				}
			}
			if changed != 1 {
				t.Fatalf("%d recorded files report a change, want 1", changed)
			}
			after := mustLoad(t, trust)
			if after.Hash == before.Hash || after.Rules[0].Hash == before.Rules[0].Hash {
				t.Fatalf("same hash after %s: policy %v, rule %v", tc.name, after.Hash == before.Hash, after.Rules[0].Hash == before.Rules[0].Hash)
			}
		})
	}
}

// TestFailedLoadRecordsTheFilesItRead: a trust file naming a key file that
// is not there yet fails to load, and says which files it read (the
// missing one without a digest), so a watcher loads again once it appears.
func TestFailedLoadRecordsTheFilesItRead(t *testing.T) {
	dir := t.TempDir()
	trust, root, key := filepath.Join(dir, "trust.yaml"), filepath.Join(dir, "root.json"), filepath.Join(dir, "cosign.pub")
	writeTestFile(t, trust, []byte(filesPolicy))
	writeTestFile(t, root, []byte(`{"v":1}`))
	_, err := LoadFile(trust)
	var le *LoadError
	if !errors.As(err, &le) || len(le.Files) != 3 || le.Files[2].Path != key || le.Files[2].Digest != "" {
		t.Fatalf("want a LoadError recording trust.yaml, root.json and the missing key, got %v (%+v)", err, le)
	}
	if le.Files[2].Changed() {
		t.Fatal("a file still missing reports a change")
	}
	writeTestFile(t, key, newPublicKeyPEM(t))
	if !le.Files[2].Changed() {
		t.Fatal("the key file appearing is not a change")
	}
}
