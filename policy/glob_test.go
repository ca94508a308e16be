package policy

import "testing"

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"ghcr.io/acme/*", "ghcr.io/acme/app", true},
		{"ghcr.io/acme/*", "ghcr.io/acme-evil/app", false},
		{"ghcr.io/acme/*", "ghcr.io/acme/app/sub", false},
		{"ghcr.io/acme/*", "ghcr.io/acme", false},
		{"ghcr.io/acme/**", "ghcr.io/acme/app/sub", true},
		{"ghcr.io/acme/**", "ghcr.io/acme/app", true},
		{"ghcr.io/acme/**", "ghcr.io/acme", false},
		{"ghcr.io/acme/**", "ghcr.io/acme-evil/app", false},
		{"ghcr.io/**/app", "ghcr.io/app", true},
		{"ghcr.io/**/app", "ghcr.io/a/b/app", true},
		{"ghcr.io/**/app", "ghcr.io/a/b/app2", false},
		{"**", "anything/at/all", true},
		{"refs/tags/v*", "refs/tags/v1.2.3", true},
		{"refs/tags/v*", "refs/tags/v1/evil", false},
		{"refs/tags/v*", "refs/tags/x1", false},
		{"refs/heads/main", "refs/heads/main", true},
		{"refs/heads/main", "refs/heads/main2", false},
		{"refs/heads/rel-?", "refs/heads/rel-1", true},
		{"refs/heads/rel-?", "refs/heads/rel-10", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"localhost:5000/*", "localhost:5000/x", true},
	}
	for _, c := range cases {
		t.Run(c.pattern+"~"+c.name, func(t *testing.T) {
			if got := MustGlob(c.pattern).Match(c.name); got != c.want {
				t.Fatalf("Glob(%q).Match(%q) = %v, want %v", c.pattern, c.name, got, c.want)
			}
		})
	}
}

func TestGlobRejectsMalformed(t *testing.T) {
	for _, p := range []string{"", "a//b", "a/**b", "a***", "a/[ab]", "a/{x,y}", `a\*`, "/a"} {
		if _, err := CompileGlob(p); err == nil {
			t.Errorf("CompileGlob(%q) accepted a malformed pattern", p)
		}
	}
}
