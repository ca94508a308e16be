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

// patchedModule writes a throwaway module requiring mod@ver and replacing
// it with a copy of its source in which file's one occurrence of old reads
// new: a one-line change to how a server is run in tests (a port it
// binds), never to what it does.
func patchedModule(mod, ver, file, old, new string) func(dir string) error {
	return func(dir string) error {
		src, err := moduleDir(dir, mod, ver)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, "patched")
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			return fmt.Errorf("copying %s@%s: %w", mod, ver, err)
		}
		path := filepath.Join(dst, file)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := bytes.Count(b, []byte(old)); n != 1 {
			return fmt.Errorf("patching %s@%s: %s has %d occurrences of %q, want 1", mod, ver, file, n, old)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
			return err
		}
		gomod := fmt.Sprintf("module signet.local/build\n\ngo 1.26\n\nrequire %s %s\n\nreplace %s => ./patched\n", mod, ver, mod)
		return os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644)
	}
}

// moduleDir downloads mod@ver (into the module cache) and returns its
// source directory there (read-only).
func moduleDir(dir, mod, ver string) (string, error) {
	info, err := downloadModule(dir, mod, ver)
	return info.Dir, err
}

// moduleGoMod downloads mod@ver (into the module cache) and returns its
// go.mod, whose replace directives a throwaway module copies.
func moduleGoMod(dir, mod, ver string) ([]byte, error) {
	info, err := downloadModule(dir, mod, ver)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(info.GoMod)
}

// downloadModule is `go mod download -json mod@ver`: where the module's
// source and go.mod are in the module cache.
func downloadModule(dir, mod, ver string) (info struct{ Dir, GoMod string }, err error) {
	cmd := exec.Command(goBinary(), "mod", "download", "-json", mod+"@"+ver)
	cmd.Dir = dir
	cmd.Env = buildEnv()
	out, err := cmd.Output()
	if err != nil {
		return info, fmt.Errorf("downloading %s@%s: %w", mod, ver, err)
	}
	err = json.Unmarshal(out, &info)
	return info, err
}
