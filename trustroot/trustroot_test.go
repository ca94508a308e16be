package trustroot

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestEmbeddedSnapshotLoadsOffline(t *testing.T) {
	r, err := Load(context.Background(), PublicGood, Options{Offline: true})
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
	a, err := Load(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	emb, _ := Embedded()
	if a.Version != emb.Version {
		t.Fatalf("same bytes, different version")
	}
	if _, err := Load(context.Background(), filepath.Join(dir, "missing.json"), Options{}); err == nil {
		t.Fatal("missing file accepted")
	}
	if err := os.WriteFile(p, []byte(`{"mediaType":"nope"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), p, Options{}); err == nil {
		t.Fatal("garbage trusted root accepted")
	}
}
