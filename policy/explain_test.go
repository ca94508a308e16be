package policy

import (
	"reflect"
	"strings"
	"testing"
)

// explainEverything sets every field of KeylessSpec on one of two
// identities (some fields exclude each other) and a key with its
// transparency log requirement.
var explainEverything = Spec{
	Identities: []IdentitySpec{
		{Name: "reusable", Keyless: &KeylessSpec{
			Issuer: "https://token.actions.example", CI: CIGitHub, ServerURL: "https://github.example",
			Repository: "acme/app", Workflow: ".github/workflows/reusable-release.yml", SignerRepository: "acme/release-workflows",
			SignerRefs: []string{"refs/tags/v0.2.0", "refs/tags/v0.3.*"}, Refs: []string{"refs/heads/main"},
			RunnerEnvironment: "github-hosted", Triggers: []string{"push", "workflow_dispatch"},
			SubjectRegExp: `^https://github\.example/acme/release-workflows/\.github/workflows/reusable-release\.yml@refs/tags/v0\.[23].*$`,
		}},
		{Name: "pipeline", Keyless: &KeylessSpec{
			Issuer: "https://gitlab.com", Project: "acme/platform",
			Subject: "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main",
		}},
		{Name: "release-key", Key: &KeySpec{KMS: "awskms:///alias/release", TransparencyLog: Required}},
	},
	Images: []RuleSpec{{Match: []string{"**"}, SignedBy: []string{"reusable", "pipeline", "release-key"}}},
}

// TestExplainShowsEveryIdentityField: every field an identity sets in the
// trust file is in `sign policy explain`'s text, so a mismatch preflight
// would report (signerRefs: the example's refs/tags/v1 against a workflow
// called @v0.2.0) can be seen before CI runs. A field added to KeylessSpec
// fails the first check until this test sets it, and then the second until
// explain shows it.
func TestExplainShowsEveryIdentityField(t *testing.T) {
	set := map[string]bool{}
	for _, id := range explainEverything.Identities {
		if id.Keyless == nil {
			continue
		}
		v := reflect.ValueOf(*id.Keyless)
		for i := range v.NumField() {
			if !v.Field(i).IsZero() {
				set[v.Type().Field(i).Name] = true
			}
		}
	}
	kt := reflect.TypeFor[KeylessSpec]()
	for i := range kt.NumField() {
		if name := kt.Field(i).Name; !set[name] {
			t.Errorf("the test sets no identity's %s: set it, and make explain show it", name)
		}
	}

	p, err := New(explainEverything)
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.Explain("registry.example/app")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := e.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, id := range explainEverything.Identities {
		var want []string
		if k := id.Keyless; k != nil {
			want = append(want, k.Issuer, string(k.CI), k.ServerURL, k.Repository, k.Project, k.Workflow, k.SignerRepository,
				k.RunnerEnvironment, k.Subject, k.SubjectRegExp)
			want = append(append(append(want, k.SignerRefs...), k.Refs...), k.Triggers...)
		} else {
			want = append(want, id.Key.KMS, "transparency log    "+string(id.Key.TransparencyLog))
		}
		for _, w := range want {
			if w != "" && !strings.Contains(text, w) {
				t.Errorf("identity %s: explain does not show %q:\n%s", id.Name, w, text)
			}
		}
	}
}
