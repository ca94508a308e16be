package release

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/signet-dev/signet/test/testdir"
)

// moduleRoot is the repository root, from this file's location.
func moduleRoot(t *testing.T) string {
	t.Helper()
	return testdir.ModuleRoot(t)
}

// TestPackageChartPinsTheDigest: helm loads the packaged chart, its values
// name the enforce image by the release's digest, and packaging twice
// gives the same bytes.
func TestPackageChartPinsTheDigest(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	epoch := time.Unix(1700000000, 0)
	var archives [][]byte
	for i := 0; i < 2; i++ {
		dist := t.TempDir()
		file, err := PackageChart(moduleRoot(t), dist, "registry.example/signet/signet-enforce", "v0.2.0", digest, epoch)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dist, file))
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, b)
		if file != "signet-enforce-0.2.0.tgz" {
			t.Errorf("chart file %s", file)
		}
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("packaging the chart twice gave different bytes")
	}
	ch, err := loader.LoadArchive(bytes.NewReader(archives[0]))
	if err != nil {
		t.Fatalf("helm cannot load the packaged chart: %v", err)
	}
	img := ch.Values["image"].(map[string]any)
	if img["digest"] != digest || img["repository"] != "registry.example/signet/signet-enforce" || img["tag"] != "v0.2.0" {
		t.Fatalf("values image = %v", img)
	}
	if ch.Metadata.Version != "0.2.0" || ch.Metadata.AppVersion != "v0.2.0" {
		t.Fatalf("chart %s appVersion %s", ch.Metadata.Version, ch.Metadata.AppVersion)
	}
	if _, err := pinImage([]byte("image:\n  repository: x\n"), "r", "t", digest); err == nil {
		t.Error("a values.yaml without digest/tag lines was pinned silently")
	}
	if _, err := pinImage([]byte("  repository: x\n  tag: \"\"\n  digest: \"\"\n"), "r", "t", "latest"); err == nil {
		t.Error("a non-digest was accepted as the pin")
	}
}

func TestVersionScheme(t *testing.T) {
	root := moduleRoot(t)
	v, err := ReleaseVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckTag(root, v); err != nil {
		t.Fatal(err)
	}
	if err := CheckTag(root, v+"1"); err == nil {
		t.Error("a tag that is not the chart's appVersion was accepted")
	}
	snap, err := SnapshotVersion(root, "0123456789abcdef")
	if err != nil || snap != v+"-snapshot.0123456789ab" {
		t.Errorf("snapshot %q %v", snap, err)
	}
	for name, chart := range map[string]string{
		"appVersion without v":       "version: 0.2.0\nappVersion: \"0.2.0\"\n",
		"version and appVersion off": "version: 0.2.1\nappVersion: \"v0.2.0\"\n",
		"prerelease appVersion":      "version: 0.2.0-rc1\nappVersion: \"v0.2.0-rc1\"\n",
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, ChartDir, "Chart.yaml")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(chart), 0o644)
		if _, err := ReleaseVersion(dir); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPinChecksums(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(moduleRoot(t), "ci-templates", "github", "install-sign.sh"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	sums := []byte(a + "  sign_linux_amd64\n" + b + "  sign_darwin_arm64\n" + a + "  sign_linux_amd64.cdx.json\n" + b + "  enforce_linux_amd64\n")
	out, err := PinChecksums(script, sums, "v0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"v0.2.0 linux/amd64") expected=` + a + " ;;", `"v0.2.0 darwin/arm64") expected=` + b + " ;;"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pinned script lacks %s", want)
		}
	}
	if strings.Contains(string(out), "enforce") && strings.Count(string(out), "expected=") != strings.Count(string(script), "expected=")+2 {
		t.Error("pins other than sign's binaries were added")
	}
	again, err := PinChecksums(out, sums, "v0.2.0")
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("pinning the same release twice is not idempotent (%v)", err)
	}
	if _, err := PinChecksums([]byte("#!/bin/sh\n"), sums, "v0.2.0"); err == nil {
		t.Error("a script without the checksum block was accepted")
	}
}
