package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/stack"
)

// promtool returns Prometheus' promtool from Debian's prometheus package:
// `apt-get download` (the package is not installed, so no Prometheus server
// is started) and unpacked into the stack's cache, keyed by the package
// version, so a machine downloads it once. promtool evaluates alert rules
// with Prometheus' own PromQL engine (`promtool test rules`).
func promtool(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("apt-cache", "show", "--no-all-versions", "prometheus").Output()
	version := ""
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Version: "); ok {
			version = strings.TrimSpace(v)
		}
	}
	if err != nil || version == "" {
		t.Fatalf("apt-cache knows no prometheus package (%v): run apt-get update", err)
	}
	cache, err := stack.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(cache, "promtool-"+strings.NewReplacer("+", "_", ":", "_", "~", "_").Replace(version))
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	dir := t.TempDir()
	dl := exec.Command("apt-get", "download", "prometheus="+version)
	dl.Dir = dir
	if out, err := dl.CombinedOutput(); err != nil {
		t.Fatalf("apt-get download prometheus=%s: %v\n%s", version, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "prometheus_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("apt-get download left %v", debs)
	}
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], filepath.Join(dir, "root")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	// Published by rename: a concurrent test sees the whole file or none.
	tmp := bin + ".tmp-" + filepath.Base(dir)
	b, err := os.ReadFile(filepath.Join(dir, "root", "usr", "bin", "promtool"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}
