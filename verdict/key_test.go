package verdict

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteKeyPair: the files signet-node keygen writes are a pair the
// webhook signs with and the nodes verify with, and neither is readable
// by others.
func TestWriteKeyPair(t *testing.T) {
	dir := t.TempDir()
	paths, err := WriteKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "verdict.key"), filepath.Join(dir, "verdict.pub")}; len(paths) != 2 || paths[0] != want[0] || paths[1] != want[1] {
		t.Fatalf("paths %v, want %v", paths, want)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want mode 0600", p, st, err)
		}
	}
	priv, _ := os.ReadFile(paths[0])
	pub, _ := os.ReadFile(paths[1])
	s, v := pairOf(t, priv, pub)
	env, err := s.Sign(claim())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(env); err != nil {
		t.Fatalf("the written pair does not verify its own verdict: %v", err)
	}
	if _, err := WriteKeyPair(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing directory was not an error")
	}
}
