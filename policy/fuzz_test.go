package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any input yields a policy or a LoadError, never a panic, and a
// policy that loads has a hash and matches deterministically.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(header + "images: [{match: ['**'], deny: x}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, WithReadFile(func(string) ([]byte, error) { return nil, os.ErrNotExist }))
		if err != nil {
			return
		}
		if p.Hash == "" {
			t.Fatal("loaded policy without hash")
		}
		_, _ = p.Match("ghcr.io/acme/app:1")
	})
}

// FuzzNormalizeRepository: normalization never panics, and a normalized
// repository normalizes to itself.
func FuzzNormalizeRepository(f *testing.F) {
	for _, s := range []string{"nginx", "ghcr.io/acme/app:1@sha256:0000000000000000000000000000000000000000000000000000000000000000", "localhost:5000/x", "a/b/c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		repo, err := NormalizeRepository(s)
		if err != nil {
			return
		}
		again, err := NormalizeRepository(repo)
		if err != nil || again != repo {
			t.Fatalf("NormalizeRepository(%q) = %q, renormalized to %q, %v", s, repo, again, err)
		}
	})
}

// FuzzGlob: compiling and matching arbitrary patterns never panics.
func FuzzGlob(f *testing.F) {
	f.Add("ghcr.io/acme/**", "ghcr.io/acme/x/y")
	f.Add("a*b?c", "axxbyc")
	f.Fuzz(func(t *testing.T, pat, s string) {
		if g, err := CompileGlob(pat); err == nil {
			_ = g.Match(s)
		}
	})
}
