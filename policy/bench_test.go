package policy

import (
	"fmt"
	"strings"
	"testing"
)

// ruleShapes are the trust files the matching benchmarks load: n rules of
// one shape, each naming its own team, and a final catch-all. The image
// matched is governed by the rule in the middle, so a linear scan tests
// half the rules and an index only the few that share its literals.
var ruleShapes = map[string]func(i int) string{
	// literal-first: the host and the team are literal.
	"literal-first": func(i int) string { return fmt.Sprintf("registry.example.com/team%d/**", i) },
	// wildcard-first: the host is a wildcard ("any mirror"), the team literal.
	"wildcard-first": func(i int) string { return fmt.Sprintf("*/team%d/**", i) },
	// wildcard-host: a wildcard inside the host segment.
	"wildcard-host": func(i int) string { return fmt.Sprintf("*.region%d.example.com/**", i) },
}

// benchImage is the image the matching benchmarks look up for shape.
func benchImage(shape string, n int) string {
	switch shape {
	case "wildcard-host":
		return fmt.Sprintf("eu.region%d.example.com/app/web:1", n/2)
	case "wildcard-first":
		return fmt.Sprintf("mirror.example.com/team%d/app:1", n/2)
	}
	return fmt.Sprintf("registry.example.com/team%d/app:1", n/2)
}

func shapePolicy(b testing.TB, shape string, n int) []byte {
	var sb strings.Builder
	sb.WriteString(header + "images:\n")
	for i := range n - 1 {
		fmt.Fprintf(&sb, "- {match: [%q], signature: optional}\n", ruleShapes[shape](i))
	}
	sb.WriteString("- {match: [\"**\"], deny: no}\n")
	return []byte(sb.String())
}

// BenchmarkMatch: rule selection for a repository governed by the middle
// rule of n, per rule shape, as the engine asks for it (MatchRepository: the
// reference is already parsed, which costs the same under any policy), for
// a repository the policy has not matched before (the memo is off). The
// target: under 5 µs at 10,000 wildcard-first rules.
func BenchmarkMatch(b *testing.B) { benchMatch(b, false) }

// BenchmarkMatchMemo: the same for a repository matched before, as on
// every admission of an image already running: a memo lookup.
func BenchmarkMatchMemo(b *testing.B) { benchMatch(b, true) }

func benchMatch(b *testing.B, memo bool) {
	for _, n := range []int{100, 10000} {
		for _, shape := range []string{"literal-first", "wildcard-first", "wildcard-host"} {
			b.Run(fmt.Sprintf("rules=%d/%s", n, shape), func(b *testing.B) {
				p, err := Parse(shapePolicy(b, shape, n))
				if err != nil {
					b.Fatal(err)
				}
				if !memo {
					p.memo = nil
				}
				repo, err := NormalizeRepository(benchImage(shape, n))
				if err != nil {
					b.Fatal(err)
				}
				want := n / 2
				b.ReportAllocs()
				for b.Loop() {
					m, err := p.MatchRepository(repo)
					if err != nil || m.Rule.Index != want {
						b.Fatal(m.Rule, err)
					}
				}
			})
		}
	}
}

// BenchmarkLoadPolicy: parsing, validating, compiling and hashing a trust
// file of n wildcard-first rules (B/op is the memory it costs to load).
func BenchmarkLoadPolicy(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			data := shapePolicy(b, "wildcard-first", n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
