package citest

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// Remote references in the templates that the lint project replaces with local
// copies, so actionlint checks every `with:`, `secrets:` and output against the
// real action and reusable workflow instead of skipping unknown remote ones.
// The reusable workflow runs the action from its own checkout (selfAction).
const (
	remoteAction   = "signet-dev/signet/ci-templates/github@v0.2.0"
	remoteSetup    = "signet-dev/signet/ci-templates/github/setup@v0.2.0"
	localSetup     = "./ci-templates/github/setup"
	remoteWorkflow = "signet-dev/signet/.github/workflows/reusable-release.yml@v0.2.0"
	localAction    = "./ci-templates/github"
	localWorkflow  = "./.github/workflows/reusable-release.yml"
	selfAction     = "./.signet-workflow/ci-templates/github"
)

// lintProject lays out a throwaway repository the way GitHub sees a caller:
// the composite actions at ci-templates/github and ci-templates/github/setup,
// the reusable workflow and the example workflows under .github/workflows,
// and each action's steps as a workflow of their own. It returns the
// project root and the workflow files.
func lintProject(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	action := readRepoFile(t, "ci-templates/github/action.yml")
	writeFile(t, dir, "ci-templates/github/action.yml", action)
	// Where the reusable workflow's sign job checks out its own commit.
	writeFile(t, dir, strings.TrimPrefix(selfAction, "./")+"/action.yml", action)
	reusable := readRepoFile(t, ".github/workflows/reusable-release.yml")
	if !bytes.Contains(reusable, []byte("uses: "+selfAction+"\n")) {
		t.Fatalf("reusable-release.yml no longer uses %s: update the lint project", selfAction)
	}

	setup := readRepoFile(t, "ci-templates/github/setup/action.yml")
	writeFile(t, dir, "ci-templates/github/setup/action.yml", setup)
	files := []string{
		writeFile(t, dir, ".github/workflows/reusable-release.yml", reusable),
		writeFile(t, dir, ".github/workflows/verify-manifests.yml",
			mustReplace(t, readRepoFile(t, "examples/github/verify-manifests.yml"), remoteSetup, localSetup)),
		writeFile(t, dir, ".github/workflows/setup-steps.yml", actionAsWorkflow(t, setup)),
		writeFile(t, dir, ".github/workflows/release.yml",
			mustReplace(t, readRepoFile(t, "examples/github/release.yml"), remoteWorkflow, localWorkflow)),
		writeFile(t, dir, ".github/workflows/build.yml",
			mustReplace(t, readRepoFile(t, "examples/github/sign-step.yml"), remoteAction, localAction)),
		writeFile(t, dir, ".github/workflows/action-steps.yml", actionAsWorkflow(t, action)),
		// signet's own release workflow (its reusable-workflow call is local already).
		writeFile(t, dir, ".github/workflows/signet-release.yml", readRepoFile(t, ".github/workflows/release.yml")),
	}
	return dir, files
}

func mustReplace(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("template no longer references %q: update the lint project", old)
	}
	return bytes.ReplaceAll(b, []byte(old), []byte(new))
}

// actionAsWorkflow turns a composite action's steps into a reusable workflow
// with the same inputs, so actionlint checks the steps' expressions (inputs,
// step outputs, contexts), `if:` conditions, action inputs and, when
// shellcheck is installed, the run scripts. actionlint itself only checks an
// action's metadata, not its composite steps.
func actionAsWorkflow(t *testing.T, action []byte) []byte {
	t.Helper()
	var md struct {
		Inputs map[string]struct {
			Required bool   `yaml:"required"`
			Default  string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Using string    `yaml:"using"`
			Steps yaml.Node `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(action, &md); err != nil {
		t.Fatalf("parsing action.yml: %v", err)
	}
	if md.Runs.Using != "composite" || len(md.Runs.Steps.Content) == 0 {
		t.Fatalf("action.yml: want a composite action with steps, got using=%q", md.Runs.Using)
	}
	inputs := map[string]any{}
	for name, in := range md.Inputs {
		spec := map[string]any{"type": "string", "required": in.Required}
		if !in.Required {
			spec["default"] = in.Default
		}
		inputs[name] = spec
	}
	wf := map[string]any{
		"name": "action steps",
		"on":   map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"jobs": map[string]any{"action": map[string]any{
			"runs-on": "ubuntu-latest",
			"steps":   &md.Runs.Steps,
		}},
	}
	out, err := yaml.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newLinter(t *testing.T) *actionlint.Linter {
	t.Helper()
	opts := &actionlint.LinterOptions{LogWriter: io.Discard}
	opts.Shellcheck = requireTool(t, "shellcheck")
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func lint(t *testing.T, root, file string) []*actionlint.Error {
	t.Helper()
	proj, err := actionlint.NewProject(root)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := newLinter(t).LintFile(file, proj)
	if err != nil {
		t.Fatalf("actionlint %s: %v", file, err)
	}
	return errs
}

func formatErrors(errs []*actionlint.Error) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s:%d:%d: %s [%s]", filepath.Base(e.Filepath), e.Line, e.Column, e.Message, e.Kind)
	}
	return b.String()
}

// TestActionlintClean: the composite action (its metadata, through the
// workflows that use it, and its steps), the reusable release workflow and the
// example workflows have no actionlint error.
func TestActionlintClean(t *testing.T) {
	root, files := lintProject(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if errs := lint(t, root, f); len(errs) > 0 {
				t.Errorf("actionlint found %d problem(s):%s", len(errs), formatErrors(errs))
			}
		})
	}
}

// TestActionlintCatchesMistakes proves the lint project is wired: mistakes a
// template edit could introduce are reported, so a clean result means something.
func TestActionlintCatchesMistakes(t *testing.T) {
	cases := []struct {
		name, file, old, new, wantKind string
	}{
		{"misspelled action input is reported", ".github/workflows/build.yml",
			"policy: trust.yaml", "polcy: trust.yaml", "action"},
		{"missing required action input is reported", ".github/workflows/build.yml",
			"image: ghcr.io/${{ github.repository }}@${{ steps.build.outputs.digest }}", "attest: \"false\"", "action"},
		{"unknown reusable workflow input is reported", ".github/workflows/release.yml",
			"context: app", "contxt: app", "workflow-call"},
		{"output of a step that does not exist is reported", ".github/workflows/action-steps.yml",
			"run: bash \"$ACTION_PATH/install-sign.sh\"", "run: echo ${{ steps.nope.outputs.x }}", "expression"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, _ := lintProject(t)
			p := filepath.Join(root, filepath.FromSlash(c.file))
			b := mustReplace(t, readFile(t, p), c.old, c.new)
			writeFile(t, root, c.file, b)
			errs := lint(t, root, p)
			for _, e := range errs {
				if e.Kind == c.wantKind {
					return
				}
			}
			t.Errorf("want an actionlint %q error, got:%s", c.wantKind, formatErrors(errs))
		})
	}
}
