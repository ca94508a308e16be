package peer

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

// TestTranslateCoversWhatThePeerMatches: for each dialect, every
// repository an image the peer's pattern matches lives in is matched by
// the translation (a miss would let the image fall to the final rule:
// weaker), and Exact holds only when the peer matched every reference of
// those repositories.
func TestTranslateCoversWhatThePeerMatches(t *testing.T) {
	for _, c := range []struct {
		name    string
		d       dialect
		pattern string
		want    []string
		exact   bool
		// reach: images the peer verifies (normalized repositories the
		// translation must match); miss: repositories it must not.
		reach, miss []string
	}{
		{"Kyverno * crosses / and takes the tag", kyvernoWildcard, "ghcr.io/acme/*", []string{"ghcr.io/acme/**"}, true,
			[]string{"ghcr.io/acme/app", "ghcr.io/acme/team/app"}, []string{"ghcr.io/acme-evil/app", "ghcr.io/acme"}},
		{"Kyverno * inside a name", kyvernoWildcard, "ghcr.io/acme/app*", []string{"ghcr.io/acme/app*", "ghcr.io/acme/app*/**"}, true,
			[]string{"ghcr.io/acme/app", "ghcr.io/acme/application/x"}, []string{"ghcr.io/acme/web"}},
		{"Kyverno tag pattern", kyvernoWildcard, "ghcr.io/acme/app:v1.*", []string{"ghcr.io/acme/app"}, false,
			[]string{"ghcr.io/acme/app"}, []string{"ghcr.io/acme/app2"}},
		{"Kyverno any tag, no digest", kyvernoWildcard, "ghcr.io/acme/app:*", []string{"ghcr.io/acme/app"}, false, nil, nil},
		{"Kyverno Docker Hub official image", kyvernoWildcard, "docker.io/nginx*", []string{"docker.io/nginx*", "docker.io/nginx*/**"}, false,
			[]string{"index.docker.io/library/nginx", "index.docker.io/nginxinc/nginx-unprivileged"}, []string{"index.docker.io/library/redis"}},
		{"Kyverno everything", kyvernoWildcard, "*", []string{"**"}, true, []string{"ghcr.io/x/y", "index.docker.io/library/nginx"}, nil},
		{"Kyverno ? may be a slash", kyvernoWildcard, "ghcr.io/acme?app:*", []string{"ghcr.io/acme?app", "ghcr.io/acme/app"}, false,
			[]string{"ghcr.io/acme/app", "ghcr.io/acme-app"}, nil},
		{"Kyverno literal matches nothing", kyvernoWildcard, "ghcr.io/acme/app", nil, false, nil, nil},
		{"IVPOL glob without registry is Docker Hub", kyvernoGlob, "nginx*", nil, false,
			[]string{"index.docker.io/library/nginx", "index.docker.io/nginxinc/x"}, []string{"ghcr.io/nginx"}},
		{"IVPOL alternatives", kyvernoGlob, "ghcr.io/{acme,beta}/*", []string{"ghcr.io/acme/**", "ghcr.io/beta/**"}, true,
			[]string{"ghcr.io/acme/a", "ghcr.io/beta/b/c"}, []string{"ghcr.io/gamma/a"}},
		{"IVPOL class becomes ?", kyvernoGlob, "ghcr.io/app[0-9]/*", nil, false, []string{"ghcr.io/app1/x"}, nil},
		{"policy-controller * stays in a segment", pcGlob, "ghcr.io/acme/*", []string{"ghcr.io/acme/*"}, true,
			[]string{"ghcr.io/acme/app"}, []string{"ghcr.io/acme/team/app"}},
		{"policy-controller ** crosses", pcGlob, "ghcr.io/acme/**", []string{"ghcr.io/acme/**"}, true,
			[]string{"ghcr.io/acme/team/app"}, []string{"ghcr.io/other/app"}},
		{"policy-controller * is official images", pcGlob, "*", []string{"index.docker.io/library/*"}, true,
			[]string{"index.docker.io/library/nginx"}, []string{"index.docker.io/acme/app", "ghcr.io/x/y"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc, err := translate(c.d, c.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if c.want != nil && !slices.Equal(sc.Globs, c.want) {
				t.Errorf("globs %q, want %q", sc.Globs, c.want)
			}
			if c.want == nil && c.reach == nil && !sc.Never {
				t.Errorf("globs %q for a pattern the peer never matches", sc.Globs)
			}
			if sc.Exact != c.exact {
				t.Errorf("exact %v, want %v (notes %q)", sc.Exact, c.exact, sc.Notes)
			}
			p := policyOf(t, sc.Globs)
			for _, repo := range c.reach {
				if p == nil || !matches(p, repo) {
					t.Errorf("%s, which the peer verifies, falls outside %q", repo, sc.Globs)
				}
			}
			for _, repo := range c.miss {
				if p != nil && matches(p, repo) {
					t.Errorf("%s, which the peer does not reach, is matched by %q", repo, sc.Globs)
				}
			}
		})
	}
}

// policyOf is a trust file whose one rule matches globs.
func policyOf(t *testing.T, globs []string) *policy.Policy {
	t.Helper()
	if len(globs) == 0 {
		return nil
	}
	p, err := policy.New(policy.Spec{Images: []policy.RuleSpec{{Name: "r", Match: globs, Deny: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func matches(p *policy.Policy, repo string) bool {
	_, err := p.Match(repo)
	return err == nil
}

// TestGlobSets: covers and overlap, which order translated rules.
func TestGlobSets(t *testing.T) {
	for _, c := range []struct {
		p, q           string
		covers, overlp bool
	}{
		{"ghcr.io/acme/**", "ghcr.io/acme/payments/**", true, true},
		{"ghcr.io/acme/**", "ghcr.io/acme/app*", true, true},
		{"ghcr.io/acme/payments/**", "ghcr.io/acme/**", false, true},
		{"ghcr.io/acme/app*", "ghcr.io/*/application", false, true},
		{"ghcr.io/acme/*", "ghcr.io/beta/*", false, false},
		{"**", "ghcr.io/x", true, true},
		{"ghcr.io/acme/**", "ghcr.io/acme", false, false},
		{"ghcr.io/**/app", "ghcr.io/acme/*/app", true, true},
		{"ghcr.io/acme/*/app", "ghcr.io/**/app", false, true},
		{"ghcr.io/a?c/*", "ghcr.io/abc/x", true, true},
	} {
		if got := covers(c.p, c.q); got != c.covers {
			t.Errorf("covers(%q, %q) = %v", c.p, c.q, got)
		}
		if got := overlap(c.p, c.q); got != c.overlp {
			t.Errorf("overlap(%q, %q) = %v", c.p, c.q, got)
		}
		if got := overlap(c.q, c.p); got != c.overlp {
			t.Errorf("overlap(%q, %q) = %v", c.q, c.p, got)
		}
	}
}

// TestImportRefusesWhatItCannotRead: input that is not YAML, or not an
// object, or a known kind with fields of the wrong shape, is an error at
// its file, line and column, never a crash or a silent skip.
func TestImportRefusesWhatItCannotRead(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"not YAML", "kind: ClusterPolicy\n  spec: [\n", "in.yaml:"},
		{"a list, not an object", "- a\n- b\n", "in.yaml:1:1: must be a Kubernetes object"},
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "in.yaml:1:1: must be a Kubernetes object with apiVersion and kind"},
		{"rules not a list", "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: x}\nspec: {rules: 3}\n", "in.yaml:4:15: spec.rules: must be a list"},
		{"imageReferences not strings", "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: x}\nspec:\n  rules:\n  - name: r\n    verifyImages:\n    - imageReferences: [{a: b}]\n",
			"in.yaml:8:25: spec.rules[0].verifyImages[0].imageReferences[0]: must be a string"},
		{"too large", strings.Repeat("#", MaxFileSize+1), "is 8388609 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Import([]File{{Name: "in.yaml", Data: []byte(c.doc)}}, Options{})
			var le *policy.LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a LoadError containing %q", err, c.want)
			}
		})
	}
}
