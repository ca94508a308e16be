package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// closedAddr is a loopback address nothing listens on: every connection is
// refused. A port the kernel handed out and took back could be handed to
// another test's listener before the connection; port 1 is privileged and no
// test binds it.
const closedAddr = "127.0.0.1:1"

// TestExitCodes: scripts can tell a usage mistake (2) from a registry that
// cannot be reached (3) and from a denial (1); help and version succeed.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	pw := []string{"COSIGN_PASSWORD=pw"}
	if _, stderr, code := runSign(t, pw, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "k")); code != 0 {
		t.Fatalf("generate-key-pair: exit %d: %s", code, stderr)
	}
	policy := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: public-good}
identities:
  - name: k
    key: {path: k.pub}
images:
  - match: ["**"]
    signedBy: [k]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := closedAddr
	digest := "@sha256:" + strings.Repeat("a", 64)
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"sign help lists the commands", []string{"help"}, 0, ""},
		{"sign help COMMAND shows its help", []string{"help", "verify"}, 0, ""},
		{"sign version succeeds", []string{"version"}, 0, ""},
		{"sign --version succeeds", []string{"--version"}, 0, ""},
		{"an unknown command is a usage error", []string{"nosuch"}, 2, `unknown command "nosuch"`},
		{"help for an unknown topic is a usage error", []string{"help", "nosuch"}, 2, `unknown command "nosuch"`},
		{"an unknown subcommand is a usage error", []string{"policy", "nosuch"}, 2, `unknown command "nosuch"`},
		{"a mistyped command names the nearest one", []string{"verfy", "x"}, 2, `unknown command "verfy" (did you mean "verify"?)`},
		{"a mistyped subcommand names the nearest at its level", []string{"policy", "lnit", "t.yaml"}, 2, `unknown command "lnit" (did you mean "lint"?)`},
		{"an unknown flag is a usage error", []string{"verify", "--nosuch", "x"}, 2, "flag provided but not defined"},
		{"a missing argument is a usage error", []string{"verify", "--policy", policy}, 2, "needs at least one IMAGE"},
		{"an unreadable trust file is a usage error", []string{"verify", "--policy", filepath.Join(dir, "none.yaml"), "x"}, 2, "none.yaml"},
		{"verify against an unreachable registry is a network failure", []string{"verify", "--offline", "--policy", policy, dead + "/app" + digest}, 3, ""},
		{"signing at an unreachable registry is a network failure",
			[]string{"image", "--key", filepath.Join(dir, "k.key"), "--tlog-upload=false", dead + "/app" + digest}, 3, "connection refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runSign(t, pw, c.args...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("sign %v: exit %d, want %d (stderr should contain %q):\n%s", c.args, code, c.code, c.stderr, stderr)
			}
		})
	}
}

// TestCompletionScripts: the bash script completes commands and flags by
// asking the binary (run in a real bash), zsh registers the function, and
// fish lists the commands.
func TestCompletionScripts(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed")
	}
	complete := func(words ...string) string {
		t.Helper()
		script := `source <("$SIGN" completion bash)
COMP_WORDS=('` + strings.Join(words, "' '") + `'); COMP_CWORD=$((${#COMP_WORDS[@]}-1))
_sign_complete; printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, "--norc", "-c", script)
		cmd.Env = append(os.Environ(), "SIGN="+signBin, "PATH="+filepath.Dir(signBin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion: %v\n%s", err, out)
		}
		return string(out)
	}
	if got := complete("sign", "ver"); !strings.Contains(got, "verify") || !strings.Contains(got, "version") {
		t.Errorf("bash: 'sign ver<TAB>' offered %q, want verify and version", got)
	}
	if got := complete("sign", "verify", "--pol"); !strings.Contains(got, "--policy") {
		t.Errorf("bash: 'sign verify --pol<TAB>' offered %q, want --policy", got)
	}
	if got := complete("sign", "policy", ""); !strings.Contains(got, "lint") || !strings.Contains(got, "explain") {
		t.Errorf("bash: 'sign policy <TAB>' offered %q, want lint and explain", got)
	}
	zsh, _, code := runSign(t, nil, "completion", "zsh")
	if code != 0 || !strings.HasPrefix(zsh, "#compdef sign") || !strings.Contains(zsh, "compdef _sign sign") {
		t.Errorf("zsh script (exit %d):\n%s", code, zsh)
	}
	fish, _, code := runSign(t, nil, "completion", "fish")
	if code != 0 || !strings.Contains(fish, "complete -c sign") || !strings.Contains(fish, "'verify'") {
		t.Errorf("fish script (exit %d):\n%s", code, fish)
	}
	if _, _, code := runSign(t, nil, "completion", "tcsh"); code != 2 {
		t.Errorf("an unknown shell: exit %d, want 2", code)
	}
}
