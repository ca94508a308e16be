package enforce

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServingCertificateWriteNew(t *testing.T) {
	sc := &ServingCertificate{CA: []byte("ca"), Cert: []byte("cert"), Key: []byte("key")}
	cases := []struct {
		name     string
		existing string // a file already in the directory
		wantErr  string
	}{
		{"an empty directory gets the three files", "", ""},
		{"an existing CA is never replaced", "ca.crt", "ca.crt exists"},
		{"an existing key is never replaced", "tls.key", "tls.key exists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tls")
			if c.existing != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, c.existing), []byte("kept"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			paths, err := sc.WriteNew(dir)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				if b, _ := os.ReadFile(filepath.Join(dir, c.existing)); string(b) != "kept" {
					t.Fatalf("%s was replaced: %q", c.existing, b)
				}
				if _, err := os.Stat(filepath.Join(dir, "tls.crt")); c.existing != "tls.crt" && err == nil {
					t.Fatal("a refused write wrote tls.crt anyway")
				}
				return
			}
			if err != nil || len(paths) != 3 {
				t.Fatalf("WriteNew: %v %v", paths, err)
			}
			for _, f := range []struct {
				name, data string
				mode       os.FileMode
			}{{"ca.crt", "ca", 0o644}, {"tls.crt", "cert", 0o644}, {"tls.key", "key", 0o600}} {
				st, err := os.Stat(filepath.Join(dir, f.name))
				b, _ := os.ReadFile(filepath.Join(dir, f.name))
				if err != nil || string(b) != f.data || st.Mode().Perm() != f.mode {
					t.Errorf("%s: %q mode %v err %v, want %q mode %v", f.name, b, st.Mode().Perm(), err, f.data, f.mode)
				}
			}
		})
	}
}
