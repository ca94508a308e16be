package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/ci"
)

func githubCert(repo, workflow, ref string) certificate.Summary {
	uri := "https://github.com/" + repo + "/" + workflow + "@" + ref
	return certificate.Summary{
		SubjectAlternativeName: uri,
		Extensions: certificate.Extensions{
			Issuer: ci.GitHubIssuer, BuildSignerURI: uri, BuildConfigURI: uri,
			SourceRepositoryURI: "https://github.com/" + repo, SourceRepositoryRef: ref,
			RunnerEnvironment: "github-hosted", BuildTrigger: "push",
		},
	}
}

func gitlabCert(project, ref string) certificate.Summary {
	uri := "https://gitlab.com/" + project + "//.gitlab-ci.yml@" + ref
	return certificate.Summary{
		SubjectAlternativeName: uri,
		Extensions: certificate.Extensions{
			Issuer: ci.GitLabIssuer, BuildSignerURI: uri, BuildConfigURI: uri,
			SourceRepositoryURI: "https://gitlab.com/" + project, SourceRepositoryRef: ref,
			RunnerEnvironment: "gitlab-hosted", BuildTrigger: "push",
		},
	}
}

func TestMatchCertificate(t *testing.T) {
	p := mustLoad(t, "testdata/trust.yaml")
	gh, _ := p.Identity("app-release")
	gl, _ := p.Identity("platform-gitlab")
	key, _ := p.Identity("release-key")
	mutate := func(s certificate.Summary, f func(*certificate.Summary)) certificate.Summary { f(&s); return s }
	cases := []struct {
		name      string
		id        *Identity
		cert      certificate.Summary
		wantField string // "" means match
	}{
		{"github release workflow on main is accepted", gh, githubCert("acme/app", ".github/workflows/release.yml", "refs/heads/main"), ""},
		{"github release workflow on a v tag is accepted", gh, githubCert("acme/app", ".github/workflows/release.yml", "refs/tags/v1.2.0"), ""},
		{"github wrong ref is refused", gh, githubCert("acme/app", ".github/workflows/release.yml", "refs/heads/feature"), "refs"},
		{"github acme-evil is refused where acme is trusted", gh, githubCert("acme-evil/app", ".github/workflows/release.yml", "refs/heads/main"), "repository"},
		{"github acme/app-evil is refused", gh, githubCert("acme/app-evil", ".github/workflows/release.yml", "refs/heads/main"), "repository"},
		{"github other workflow in the trusted repo is refused", gh, githubCert("acme/app", ".github/workflows/pr.yml", "refs/heads/main"), "workflow"},
		{"github workflow path prefix trick is refused", gh, githubCert("acme/app", ".github/workflows/release.yml.evil", "refs/heads/main"), "workflow"},
		{"github self-hosted runner is refused", gh, mutate(githubCert("acme/app", ".github/workflows/release.yml", "refs/heads/main"), func(s *certificate.Summary) { s.RunnerEnvironment = "self-hosted" }), "runnerEnvironment"},
		{"github issuer impersonation is refused", gh, mutate(githubCert("acme/app", ".github/workflows/release.yml", "refs/heads/main"), func(s *certificate.Summary) { s.Issuer = "https://evil.example" }), "issuer"},
		{"gitlab main is accepted", gl, gitlabCert("acme/platform", "refs/heads/main"), ""},
		{"gitlab other branch is refused", gl, gitlabCert("acme/platform", "refs/heads/dev"), "refs"},
		{"gitlab sub-project is refused", gl, gitlabCert("acme/platform/evil", "refs/heads/main"), "repository"},
		{"gitlab certificate for github identity is refused", gh, gitlabCert("acme/app", "refs/heads/main"), "issuer"},
		{"certificate for a key identity is refused", key, githubCert("acme/app", ".github/workflows/release.yml", "refs/heads/main"), "kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.id.MatchCertificate(c.cert)
			switch {
			case c.wantField == "" && m != nil:
				t.Fatalf("refused: %v", m)
			case c.wantField != "" && m == nil:
				t.Fatalf("accepted a certificate that must be refused on %s", c.wantField)
			case c.wantField != "" && m.Field != c.wantField:
				t.Fatalf("refused on %s, want %s: %v", m.Field, c.wantField, m)
			}
		})
	}
}

func TestMatchRules(t *testing.T) {
	p := mustLoad(t, "testdata/trust.yaml")
	cases := []struct{ image, rule string }{
		{"ghcr.io/acme/app:1.0", "acme-apps"},
		{"ghcr.io/acme/team/app@sha256:" + strings.Repeat("a", 64), "acme-apps"},
		{"ghcr.io/acme-evil/app:1.0", "everything-else"},
		{"registry.acme.dev/tools/kubectl", "acme-tools"},
		{"registry.acme.dev/tools/sub/kubectl", "everything-else"},
		{"bitnami/redis:7", "third-party"},
		{"docker.io/bitnami/redis", "third-party"},
		{"registry.k8s.io/pause:3.9", "third-party"},
		{"nginx", "everything-else"},
	}
	for _, c := range cases {
		m, err := p.Match(c.image)
		if err != nil {
			t.Fatalf("Match(%s): %v", c.image, err)
		}
		if m.Rule.Name != c.rule {
			t.Errorf("Match(%s) = %s, want %s", c.image, m.Rule.Name, c.rule)
		}
	}
}

func TestNoMatchingRuleIsAnError(t *testing.T) {
	p, err := Parse([]byte(header + "images: [{match: [ghcr.io/acme/*], signature: optional}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Match("ghcr.io/other/x"); err == nil || !strings.Contains(err.Error(), "no rule") {
		t.Fatalf("unmatched image must be an error, got %v", err)
	}
}

func TestNormalizeRepository(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                                           "index.docker.io/library/nginx",
		"nginx:1.25":                                      "index.docker.io/library/nginx",
		"docker.io/library/nginx":                         "index.docker.io/library/nginx",
		"docker.io/nginx":                                 "index.docker.io/library/nginx",
		"index.docker.io/nginx":                           "index.docker.io/library/nginx",
		"registry-1.docker.io/library/nginx":              "index.docker.io/library/nginx",
		"registry-1.docker.io/nginx:1":                    "index.docker.io/library/nginx",
		"registry.hub.docker.com/library/nginx":           "index.docker.io/library/nginx",
		"Docker.IO/library/nginx":                         "index.docker.io/library/nginx",
		"index.docker.io:443/library/nginx":               "index.docker.io/library/nginx",
		"docker.io./library/nginx":                        "index.docker.io/library/nginx",
		"registry-1.docker.io/bitnami/redis":              "index.docker.io/bitnami/redis",
		"GHCR.io:443/acme/app":                            "ghcr.io/acme/app",
		"ghcr.io.:5000/acme/app":                          "ghcr.io:5000/acme/app",
		"[::1]:5000/acme/app":                             "[::1]:5000/acme/app",
		"bitnami/redis@sha256:" + strings.Repeat("0", 64): "index.docker.io/bitnami/redis",
		"localhost:5000/a/b:t":                            "localhost:5000/a/b",
		"ghcr.io/acme/app":                                "ghcr.io/acme/app",
		// The port is a number: the runtime dials ":0443" as 443.
		"registry.corp:0443/app":         "registry.corp/app",
		"registry.corp:000443/app":       "registry.corp/app",
		"registry.corp:05000/app":        "registry.corp:5000/app",
		"REGISTRY.corp.:0443/app":        "registry.corp/app",
		"docker.io:0443/nginx":           "index.docker.io/library/nginx",
		"registry-1.docker.io:443/nginx": "index.docker.io/library/nginx",
		"index.docker.io.:00443/nginx":   "index.docker.io/library/nginx",
		// One IPv6 address, one text (RFC 5952); IPv4-mapped is the IPv4 host.
		"[0:0:0:0:0:0:0:1]:5000/a":     "[::1]:5000/a",
		"[0::0001]:05000/a":            "[::1]:5000/a",
		"[2001:DB8:0:0:0:0:0:1]:443/a": "[2001:db8::1]/a",
		"[::ffff:10.0.0.1]:5000/a":     "10.0.0.1:5000/a",
		"[::FFFF:a00:1]:5000/a":        "10.0.0.1:5000/a",
		"127.0.0.1:5000/a":             "127.0.0.1:5000/a",
		"1.2.3.4.example.com/a":        "1.2.3.4.example.com/a",
		"0x7f.example.com/a":           "0x7f.example.com/a",
	} {
		got, err := NormalizeRepository(in)
		if err != nil || got != want {
			t.Errorf("NormalizeRepository(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestNormalizeRepositoryRefusesHostsTheRuntimeReadsOtherwise: a port the
// runtime cannot dial, or a numeric host whose address depends on the
// resolver (glibc's inet_aton reads "127.1" and "0x7f.0.0.1" as 127.0.0.1,
// Go's resolver as names), selects no rule: it is refused with the reason.
func TestNormalizeRepositoryRefusesHostsTheRuntimeReadsOtherwise(t *testing.T) {
	for in, want := range map[string]string{
		"registry.corp:0/app":                       "outside 1-65535",
		"registry.corp:65536/app":                   "outside 1-65535",
		"registry.corp:000000000000000000443/app":   "", // still 443: leading zeros are free
		"registry.corp:99999999999999999999443/app": "outside 1-65535",
		"127.1:5000/app":                            "numeric address",
		"0x7f.0.0.1:5000/app":                       "numeric address",
		"127.000.000.001:5000/app":                  "numeric address",
		"127.0.0.1.:5000/app":                       "numeric address",
		"2130706433:5000/app":                       "numeric address",
	} {
		got, err := NormalizeRepository(in)
		switch {
		case want == "" && err != nil:
			t.Errorf("NormalizeRepository(%q): %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("NormalizeRepository(%q) = %q, %v; want an error saying %q", in, got, err, want)
		}
	}
	p, err := Parse([]byte(header + "images: [{match: [\"**\"], signature: optional}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := p.Match("127.1:5000/app"); err == nil || m.Rule != nil {
		t.Errorf("a resolver-dependent host matched the catch-all rule %v", m.Rule)
	}
}

// TestRegistrySpellingsMatchOneRule: a deny rule on registry.corp is not
// bypassed by any spelling the runtime dials as the same registry.
func TestRegistrySpellingsMatchOneRule(t *testing.T) {
	for _, pat := range []string{"registry.corp/**", "REGISTRY.CORP:0443/**", "registry.corp.:443/**", "*.corp/**"} {
		p, err := Parse([]byte(header + "images:\n- {name: no-corp, match: [\"" + pat + "\"], deny: no}\n- {match: [\"**\"], signature: optional}\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range []string{"registry.corp/app", "registry.corp:443/app", "registry.corp:0443/app", "registry.corp:00443/app:1",
			"Registry.Corp:0443/app", "registry.corp./app", "registry.corp.:0443/app", "registry.corp..:443/app@sha256:" + strings.Repeat("a", 64)} {
			if m, err := p.Match(img); err != nil || m.Rule.Name != "no-corp" {
				t.Errorf("rule %q does not catch %q: %v %v", pat, img, m.Rule, err)
			}
		}
		if m, _ := p.Match("registry.corp:5000/app"); m.Rule != nil && m.Rule.Name == "no-corp" {
			t.Errorf("rule %q catches another port of the host", pat)
		}
	}
}

// TestDockerHubSpellingsMatchOneRule: a rule written with any spelling of
// Docker Hub catches the image written with any other (a deny rule on
// docker.io/library/nginx is not bypassed by registry-1.docker.io/nginx).
func TestDockerHubSpellingsMatchOneRule(t *testing.T) {
	patterns := []string{"nginx", "library/nginx", "docker.io/nginx", "docker.io/library/nginx", "index.docker.io/nginx",
		"registry-1.docker.io/library/nginx", "registry.hub.docker.com/library/nginx", "DOCKER.IO/library/nginx", "docker.io:443/library/*"}
	images := []string{"nginx", "nginx:1.25", "library/nginx", "docker.io/nginx", "docker.io/library/nginx:1", "index.docker.io/nginx",
		"index.docker.io/library/nginx", "registry-1.docker.io/nginx", "registry-1.docker.io/library/nginx@sha256:" + strings.Repeat("a", 64),
		"registry.hub.docker.com/library/nginx", "Docker.io/library/nginx", "index.docker.io:443/library/nginx", "docker.io./library/nginx"}
	for _, pat := range patterns {
		p, err := Parse([]byte(header + "images:\n- {name: no-nginx, match: [\"" + pat + "\"], deny: no}\n- {match: [\"**\"], signature: optional}\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range images {
			if m, err := p.Match(img); err != nil || m.Rule.Name != "no-nginx" {
				t.Errorf("rule %q does not catch %q: %v %v", pat, img, m.Rule, err)
			}
		}
		if m, _ := p.Match("registry-1.docker.io/acme/nginx"); m.Rule.Name == "no-nginx" {
			t.Errorf("rule %q catches acme/nginx", pat)
		}
	}
}

// bigPolicy has n rules, the interesting one last.
func bigPolicy(b testing.TB, n int) *Policy {
	var sb strings.Builder
	sb.WriteString(header + "images:\n")
	for i := 0; i < n-1; i++ {
		fmt.Fprintf(&sb, "- {match: [\"registry%d.example.com/team%d/**\", \"ghcr.io/org%d/*\"], signature: optional}\n", i, i, i)
	}
	sb.WriteString("- {match: [\"**\"], deny: no}\n")
	p, err := Parse([]byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkMatch200Rules measures rule selection for an image that falls
// through all 200 rules (the worst case), including reference normalization.
func BenchmarkMatch200Rules(b *testing.B) {
	p := bigPolicy(b, 200)
	b.ReportAllocs()
	for b.Loop() {
		m, err := p.Match("ghcr.io/acme/app:1.0")
		if err != nil || m.Rule.Index != 199 {
			b.Fatal(m, err)
		}
	}
}

// TestIndexAgreesWithLinearScan: the rule index is an optimisation only; for
// every image it must pick the same rule as testing rules in order.
func TestIndexAgreesWithLinearScan(t *testing.T) {
	p, err := Parse([]byte(header + `images:
- {match: ["ghcr.io/acme/*/x"], signature: optional}
- {match: ["ghcr.io/**"], signature: optional}
- {match: ["ghcr.io/acme/app"], signature: optional}
- {match: ["*.io/acme/**"], signature: optional}
- {match: ["ghcr.io/acme/**", "quay.io/a*/b"], signature: optional}
- {match: ["**"], deny: x}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"ghcr.io/acme/app", "ghcr.io/acme/z/x", "quay.io/acme/app", "quay.io/ab/b", "ghcr.io", "docker.io/x", "ghcr.io/acme/z/x/y"} {
		var want *Rule
	scan:
		for _, r := range p.Rules {
			for _, g := range r.Match {
				if g.Match(repo) {
					want = r
					break scan
				}
			}
		}
		m, _ := p.MatchRepository(repo)
		if m.Rule != want {
			t.Errorf("%s: index chose %v, linear scan %v", repo, m.Rule, want)
		}
	}
}
