package policy

import (
	"fmt"
	"testing"
)

// TestMatchMemo: a remembered match is the match, the memo stays bounded
// under a flood of distinct repositories, and an unmatched repository is
// not remembered (its error is given every time).
func TestMatchMemo(t *testing.T) {
	p, err := Parse([]byte(header + "images:\n- {name: acme, match: [\"*/acme/**\"], signature: optional}\n- {name: rest, match: [\"ghcr.io/**\"], deny: no}\n"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := p.MatchRepository("quay.io/acme/app")
	if err != nil || first.Rule.Name != "acme" {
		t.Fatalf("first match: %v %v", first.Rule, err)
	}
	if _, ok := p.memo.get("quay.io/acme/app"); !ok {
		t.Fatal("the match was not remembered")
	}
	again, err := p.MatchRepository("quay.io/acme/app")
	if err != nil || again != first {
		t.Fatalf("remembered match %+v differs from %+v", again, first)
	}
	for range 2 {
		if _, err := p.MatchRepository("docker.io/other/app"); err == nil {
			t.Fatal("an unmatched repository matched")
		}
	}
	for i := range 3 * memoSize {
		if _, err := p.MatchRepository(fmt.Sprintf("ghcr.io/flood/app%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	p.memo.m.Load().Range(func(any, any) bool { n++; return true })
	if n > memoSize {
		t.Fatalf("memo holds %d repositories, bound is %d", n, memoSize)
	}
}
