package policy

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// FuzzParse: any input yields a policy or a LoadError, never a panic, and a
// policy that loads has a hash and matches deterministically.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	conditions, _ := filepath.Glob("testdata/lint/*condition*.yaml")
	seeds = append(seeds, conditions...)
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

// spellings returns ways of writing repository path on host (Docker Hub
// when host is ""), all of which name the same repository to the runtime:
// the case of the host, its fully qualified form, its port with leading
// zeros or HTTPS's default port written out, and an IPv6 literal fully
// expanded. Without a host, a pattern whose first segment is a wildcard is
// taken as written (it may match registries), so it has no host-less
// spellings.
func spellings(host, path string, pattern bool) []string {
	hostname, port := splitPort(host)
	hosts := []string{host, asciiUpper(host)}
	literal := strings.HasPrefix(hostname, "[") || numericHost(strings.TrimRight(hostname, "."))
	if !strings.HasSuffix(hostname, ".") && !literal {
		hosts = append(hosts, hostname+"."+port) // the fully qualified spelling
	}
	if port == "" {
		hosts = append(hosts, host+":443", host+":0443")
	} else {
		hosts = append(hosts, hostname+":0"+port[1:])
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(hostname, "["), "]")); err == nil && strings.HasPrefix(hostname, "[") && a.Zone() == "" {
		hosts = append(hosts, "["+a.StringExpanded()+"]"+port)
	}
	var out []string
	if host == "" {
		hosts = []string{"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "Docker.IO", "index.docker.io.",
			"docker.io:443", "docker.io:0443", "registry-1.docker.io.:00443"}
		first, _, _ := strings.Cut(path, "/")
		if pattern && strings.ContainsAny(first, "*?") {
			return []string{path}
		}
		out = append(out, path)
		if name, ok := strings.CutPrefix(path, "library/"); ok && !strings.Contains(name, "/") && !(pattern && strings.ContainsAny(name, "*?")) {
			out = append(out, name, "docker.io/"+name, "registry-1.docker.io/"+name)
		}
	}
	for _, h := range hosts {
		out = append(out, h+"/"+path)
	}
	return out
}

// FuzzSpellingsMatchOneRule: every spelling of a repository normalizes to
// one name, normalization is idempotent, and whatever rule pattern the
// trust file holds, written with any spelling of its registry, all
// spellings of the image select the same rule.
func FuzzSpellingsMatchOneRule(f *testing.F) {
	f.Add("", "library/nginx", "docker.io/library/nginx")
	f.Add("", "bitnami/redis", "registry-1.docker.io/bitnami/*")
	f.Add("", "library/nginx", "nginx")
	f.Add("ghcr.io", "acme/app", "ghcr.io/acme/**")
	f.Add("localhost:5000", "a/b", "localhost:5000/*/b")
	f.Add("registry.corp", "app", "registry.corp/**")
	f.Add("registry.corp:0443", "app", "registry.corp:443/*")
	f.Add("registry.corp:5000", "app", "registry.corp:05000/app")
	f.Add("[::1]:5000", "a/b", "**")
	f.Add("[::ffff:10.0.0.1]", "a", "10.0.0.1/*")
	f.Add("", "library/nginx", "docker.io:0443/nginx")
	f.Fuzz(func(t *testing.T, host, path, pattern string) {
		if host != "" && (!isRegistry(host) || host == "localhost" || strings.ContainsAny(host, "/@")) {
			return // not a registry ("LOCALHOST/x" is a Docker Hub path, and invalid)
		}
		if first, _, _ := strings.Cut(path, "/"); host == "" && isRegistry(first) {
			return // a path on Docker Hub must not start with a registry
		}
		names := spellings(host, path, false)
		var want string
		for i, s := range names {
			got, err := NormalizeRepository(s)
			if err != nil {
				if i == 0 {
					return // not a valid reference at all
				}
				t.Fatalf("%q normalizes (to %q) but its spelling %q does not: %v", names[0], want, s, err)
			}
			if i == 0 {
				want = got
			} else if got != want {
				t.Fatalf("%q normalizes to %q, its spelling %q to %q", names[0], want, s, got)
			}
			if again, err := NormalizeRepository(got); err != nil || again != got {
				t.Fatalf("normalizing %q again gives %q, %v", got, again, err)
			}
		}
		if again := normalizePattern(normalizePattern(pattern)); again != normalizePattern(pattern) {
			t.Fatalf("pattern %q normalizes to %q, then to %q", pattern, normalizePattern(pattern), again)
		}
		if !utf8.ValidString(pattern) {
			return // a YAML file holds text
		}
		patHost, patPath, ok := strings.Cut(pattern, "/")
		if !ok || !isRegistry(patHost) {
			patHost, patPath = "", pattern
		} else if h, err := CanonicalHost(patHost); err == nil && dockerHubAliases[h] {
			patHost = ""
		}
		var rule string
		for i, pat := range spellings(patHost, patPath, true) {
			p := ruleFor(pat)
			if p == nil {
				if i == 0 {
					return // not a loadable pattern
				}
				t.Fatalf("pattern %q loads but its spelling %q does not", pattern, pat)
			}
			for _, s := range names {
				m, _ := p.Match(s)
				got := "none"
				if m.Rule != nil {
					got = m.Rule.Name
				}
				if rule == "" {
					rule = got
				} else if got != rule {
					t.Fatalf("pattern %q: image %q selects rule %s, other spellings %s", pat, s, got, rule)
				}
			}
		}
	})
}

// ruleFor is a policy whose first rule is pattern and whose second catches
// the rest, or nil if pattern does not load.
func ruleFor(pattern string) *Policy {
	doc := map[string]any{"apiVersion": APIVersion, "kind": Kind, "images": []map[string]any{
		{"name": "pattern", "match": []string{pattern}, "deny": "x"},
		{"name": "rest", "match": []string{"**"}, "deny": "y"},
	}}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil
	}
	p, err := Parse(data)
	if err != nil {
		return nil
	}
	return p
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// FuzzConditions: conditions over any statement (an attacker controls an
// attestation's predicate, a signer only its signature) end in one of the
// four outcomes, within budget, never a panic, and fail closed: the
// scan condition passes only when the scan, read in Go, has no critical
// finding, and the SBOM condition only when it lists no denied package.
func FuzzConditions(f *testing.F) {
	for _, seed := range []string{
		`{"predicate":{"scanner":{"result":{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-1","Severity":"critical"}]}]}}}}`,
		`{"predicate":{"scanner":{"result":{"matches":[{"vulnerability":{"id":"G-1","severity":"Low","fix":{"versions":["1"]}},"artifact":{"name":"a"}}]}}}}`,
		`{"predicate":{"bomFormat":"CycloneDX","components":[{"name":"xz-utils","components":[{"name":"b"}]}]}}`,
		`{"predicate":{"spdxVersion":"SPDX-2.3","packages":[{"name":"log4j-core","externalRefs":[{"referenceType":"purl","referenceLocator":1}]}]}}`,
		`{"predicate":[1,{"a":null}]}`, `[]`, `{"predicate":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	scan, _ := compileCondition(`!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")`)
	sbom, _ := compileCondition(`!packages(predicate).exists(p, p.name in ["log4j-core", "xz-utils"])`)
	other, _ := compileCondition(`predicate.?metadata.?component.?name.orValue("") != "" || size(statement) > 1`)
	f.Fuzz(func(t *testing.T, statement []byte) {
		facts, err := NewFacts(statement, SignerFacts{Identity: "fuzz"})
		if err != nil {
			return
		}
		b := NewBudget()
		for _, c := range []*Condition{scan, sbom, other} {
			r := c.Eval(facts, b)
			switch r.Outcome {
			case ConditionPassed, ConditionFailed, ConditionError, ConditionCostExceeded:
			default:
				t.Fatalf("outcome %q", r.Outcome)
			}
			if r.Cost > ConditionCostLimit+1 {
				t.Fatalf("cost %d over the limit", r.Cost)
			}
		}
		if r := scan.Eval(facts, NewBudget()); r.Outcome == ConditionPassed {
			findings, err := scanFindings(facts.Predicate())
			for _, f := range findings {
				if f["severity"] == "CRITICAL" {
					err = fmt.Errorf("a critical finding")
				}
			}
			if err != nil {
				t.Fatalf("the scan condition passed, but in Go: %v", err)
			}
		}
		if r := sbom.Eval(facts, NewBudget()); r.Outcome == ConditionPassed {
			pkgs, err := sbomPackages(facts.Predicate())
			for _, p := range pkgs {
				if p["name"] == "log4j-core" || p["name"] == "xz-utils" {
					err = fmt.Errorf("a denied package")
				}
			}
			if err != nil {
				t.Fatalf("the SBOM condition passed, but in Go: %v", err)
			}
		}
	})
}
