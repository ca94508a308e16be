package stack

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// kubeModule writes a throwaway module that can build Kubernetes' commands at kver:
// k8s.io/kubernetes carries `replace k8s.io/X => ./staging/...` directives, which
// `go install` refuses, so we require it and replace each staging module with its
// published v0.<minor> release. The list is read from kubernetes' own go.mod so it
// never drifts from the pinned version.
func kubeModule(kver string) func(dir string) error {
	return func(dir string) error { return writeKubeModule(dir, kver) }
}

func writeKubeModule(dir, kver string) error {
	stagingVer := "v0" + strings.TrimPrefix(kver, "v1")
	gomod, err := moduleGoMod(dir, "k8s.io/kubernetes", kver)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "module signet.local/kubebuild\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n", kver)
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[1] == "=>" && strings.HasPrefix(f[2], "./staging/") {
			fmt.Fprintf(&b, "\t%s => %s %s\n", f[0], f[0], stagingVer)
			n++
		}
	}
	b.WriteString(")\n")
	if n == 0 {
		return fmt.Errorf("no staging replaces found in k8s.io/kubernetes@%s's go.mod", kver)
	}
	return os.WriteFile(filepath.Join(dir, "go.mod"), b.Bytes(), 0o644)
}

// kubeVersionFlags stamps the version Kubernetes components report (a node's
// kubeletVersion, /version): without them a build from the module says v0.0.0-master,
// which version-skew checks read as older than any release.
func kubeVersionFlags(kver string) string {
	major, minor, _ := strings.Cut(strings.TrimPrefix(kver, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	const pkg = "k8s.io/component-base/version"
	return fmt.Sprintf("-s -w -X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s", pkg, kver, pkg, major, pkg, minor)
}

// requireModule writes a throwaway module requiring mod@ver, for modules whose own
// go.mod has replace directives (so `go install mod@ver` refuses them) but whose
// requirements resolve without those replaces.
func requireModule(mod, ver string) func(dir string) error {
	return func(dir string) error {
		gomod := fmt.Sprintf("module signet.local/build\n\ngo 1.26\n\nrequire %s %s\n", mod, ver)
		return os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644)
	}
}

// moduleGoMod downloads mod@ver (into the module cache) and returns its
// go.mod, whose replace directives a throwaway module copies.
func moduleGoMod(dir, mod, ver string) ([]byte, error) {
	cmd := exec.Command(goBinary(), "mod", "download", "-json", mod+"@"+ver)
	cmd.Dir = dir
	cmd.Env = buildEnv()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("downloading %s@%s: %w", mod, ver, err)
	}
	var info struct{ GoMod string }
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, err
	}
	return os.ReadFile(info.GoMod)
}
