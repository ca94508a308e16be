package verify

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// Small helpers for the sentences of reasons.

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// shortDigest is a digest for a sentence: the full digest is in the
// decision's digest field; messages keep it recognisable, not exhaustive.
func shortDigest(d name.Digest) string {
	s := d.DigestStr()
	if s == "" {
		return "the digest" // sign's preflight: not resolved yet
	}
	return shortHash(s)
}

// shortHash is "sha256:" and the first 12 hex digits of a digest.
func shortHash(s string) string {
	if len(s) > 19 {
		return s[:19] + "…"
	}
	return s
}
