package citest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGitLabScriptsShellcheck runs shellcheck (POSIX sh: the sign job's image
// has busybox sh, not bash) over each job's script, as GitLab's runner joins
// it into one shell script. `make tools` installs shellcheck.
func TestGitLabScriptsShellcheck(t *testing.T) {
	sc := requireTool(t, "shellcheck")
	for name, j := range jobs(t) {
		t.Run(name, func(t *testing.T) {
			script := "#!/bin/sh\n" + strings.Join(j.Script, "\n") + "\n"
			cmd := exec.Command(sc, "--shell=sh", "--severity=style", "-")
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("shellcheck: %v\n%s", err, out)
			}
		})
	}
}
