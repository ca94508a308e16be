package trustroot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEmbeddedSnapshotLoadsOffline(t *testing.T) {
	r, err := NewRefresher(Options{Offline: true}).Root(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Material.FulcioCertificateAuthorities()) == 0 || len(r.Material.RekorLogs()) == 0 {
		t.Fatal("embedded public-good root has no Fulcio CA or Rekor log")
	}
	if r.Version == "" {
		t.Fatal("no version")
	}
}

func TestLoadFileAndVersionTracksContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(p, embeddedPublicGood, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := LoadFile(p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	emb, _ := Embedded()
	if a.Version != emb.Version {
		t.Fatalf("same bytes, different version")
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.json"), time.Now()); err == nil {
		t.Fatal("missing file accepted")
	}
	if err := os.WriteFile(p, []byte(`{"mediaType":"nope"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(p, time.Now()); err == nil {
		t.Fatal("garbage trusted root accepted")
	}
}

// TestStoreGivesTheFileContentThePolicyPinned: a private trusted root
// file is used only with the content digest the loaded policy pinned. When
// the file changes, the old policy gets an error (not the new content
// under the old policy hash) until a policy pinning the new digest asks.
func TestStoreGivesTheFileContentThePolicyPinned(t *testing.T) {
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, embeddedPublicGood, 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewStore(NewRefresher(Options{Offline: true}))
	a := Version(embeddedPublicGood)
	if r, err := s.Root(context.Background(), p, a); err != nil || r.Version != a || r.Source != SourceFile {
		t.Fatalf("root %+v, %v", r, err)
	}
	rotated := append([]byte(" "), embeddedPublicGood...) // same keys, new bytes: a new version
	if err := os.WriteFile(p, rotated, 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Root(context.Background(), p, a); err != nil || r.Version != a {
		t.Fatalf("the policy that pinned %s got %+v, %v; want its own content, still cached", a, r, err)
	}
	b := Version(rotated)
	r, err := s.Root(context.Background(), p, b)
	if err != nil || r.Version != b {
		t.Fatalf("the reloaded policy got %+v, %v; want %s", r, err, b)
	}
	if _, err := s.Root(context.Background(), p, a); err == nil || !strings.Contains(err.Error(), "changed since the trust policy was loaded") {
		t.Fatalf("the old policy after the file changed: %v", err)
	}
	if st := s.Statuses(); len(st) != 1 || st[0].Version != b {
		t.Fatalf("statuses %+v, want only the file's current content", st)
	}
}
