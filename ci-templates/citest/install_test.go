package citest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// pinnedInstaller is install-sign.sh with pins added between its
// BEGIN/END markers, as the release process adds them: version -> sha256.
func pinnedInstaller(t *testing.T, pins map[string]string) string {
	t.Helper()
	script := string(readRepoFile(t, "ci-templates/github/install-sign.sh"))
	const anchor = "  *) ;;\nesac\n# END signet release checksums"
	if !strings.Contains(script, anchor) {
		t.Fatal("install-sign.sh lost its checksum block")
	}
	var lines strings.Builder
	for _, v := range slices.Sorted(maps.Keys(pins)) {
		lines.WriteString(`  "` + v + ` linux/amd64") expected=` + pins[v] + " ;;\n")
	}
	return writeFile(t, t.TempDir(), "install-sign.sh", []byte(strings.Replace(script, anchor, lines.String()+anchor, 1)))
}

// releaseServer serves h over HTTPS and returns its URL and a CA file curl trusts it with.
func releaseServer(t *testing.T, h http.HandlerFunc) (string, string) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	ca := writeFile(t, t.TempDir(), "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	return srv.URL, ca
}

// releaseFixture is the "sign" binary the installer tests release, and its
// checksum; they need bash, curl and sha256sum, and pin linux/amd64.
func releaseFixture(t *testing.T) ([]byte, string) {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "sha256sum"} {
		requireTool(t, tool)
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the fixture pins linux/amd64")
	}
	binary := []byte("#!/bin/sh\necho sign version v9.9.9\n")
	sum := sha256.Sum256(binary)
	return binary, hex.EncodeToString(sum[:])
}

// TestInstallSignVerifiesPinnedChecksum runs the action's installer against a
// local HTTPS release server. Only a binary whose SHA-256 is pinned in the
// script is installed; an unknown version or different bytes are refused.
func TestInstallSignVerifiesPinnedChecksum(t *testing.T) {
	binary, sum := releaseFixture(t)
	base, ca := releaseServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v9.9.9/sign_linux_amd64":
			w.Write(binary)
		case "/v9.9.8/sign_linux_amd64":
			w.Write(append(binary, '#')) // tampered
		default:
			http.NotFound(w, r)
		}
	})
	installer := pinnedInstaller(t, map[string]string{"v9.9.9": sum, "v9.9.8": sum})

	cases := []struct {
		name, version, wantErr string
	}{
		{"pinned version with matching bytes is installed", "v9.9.9", ""},
		{"pinned version with different bytes is refused", "v9.9.8", "checksum mismatch"},
		{"version without a pin is refused before downloading", "v1.0.0", "no pinned checksum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "bin")
			ghPath := writeFile(t, t.TempDir(), "github_path", nil)
			cmd := exec.Command("bash", installer)
			cmd.Env = append(os.Environ(), "SIGNET_VERSION="+c.version, "SIGNET_DOWNLOAD_BASE="+base,
				"SIGNET_INSTALL_DIR="+dest, "CURL_CA_BUNDLE="+ca, "GITHUB_PATH="+ghPath)
			out, err := cmd.CombinedOutput()
			_, statErr := os.Stat(filepath.Join(dest, "sign"))
			if c.wantErr == "" {
				if err != nil || statErr != nil {
					t.Fatalf("install failed: %v\n%s", err, out)
				}
				if got := strings.TrimSpace(string(readFile(t, ghPath))); got != dest {
					t.Errorf("GITHUB_PATH got %q, want %q", got, dest)
				}
				return
			}
			if err == nil || !strings.Contains(string(out), c.wantErr) {
				t.Errorf("want failure %q, got err=%v\n%s", c.wantErr, err, out)
			}
			if statErr == nil {
				t.Error("a refused binary was installed")
			}
		})
	}
}

// TestInstallSignPinnedQuery: --pinned answers whether this action version
// pins the requested release (the action then installs it, else builds from
// source), without downloading anything.
func TestInstallSignPinnedQuery(t *testing.T) {
	requireTool(t, "bash")
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the fixture pins linux/amd64")
	}
	installer := pinnedInstaller(t, map[string]string{"v9.9.9": strings.Repeat("a", 64)})
	for version, want := range map[string]int{"v9.9.9": 0, "v1.0.0": 1} {
		cmd := exec.Command("bash", installer, "--pinned")
		cmd.Env = append(os.Environ(), "SIGNET_VERSION="+version, "SIGNET_DOWNLOAD_BASE=https://127.0.0.1:9/nothing-listens")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want || len(out) != 0 {
			t.Errorf("--pinned for %s: exit %d output %q, want exit %d and no output", version, code, out, want)
		}
	}
}

// TestInstallSignShellcheck: the installer and the source build are clean
// under shellcheck (bash).
func TestInstallSignShellcheck(t *testing.T) {
	sc := requireTool(t, "shellcheck")
	for _, f := range []string{"install-sign.sh", "build-sign.sh"} {
		p := filepath.Join(repoRoot(t), "ci-templates", "github", f)
		if out, err := exec.Command(sc, "--severity=style", p).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f, err, out)
		}
	}
}

// TestInstallSignToolCache: on a runner with a tool cache the verified
// download is kept and reused with no download at all; a cached binary that
// no longer matches the pinned checksum is never installed: it is
// downloaded again (and the cache repaired), or, with no release server to
// download from, the install fails.
func TestInstallSignToolCache(t *testing.T) {
	binary, sum := releaseFixture(t)
	downloads := 0
	base, ca := releaseServer(t, func(w http.ResponseWriter, r *http.Request) {
		downloads++
		w.Write(binary)
	})
	installer := pinnedInstaller(t, map[string]string{"v9.9.9": sum})
	toolCache := filepath.Join(t.TempDir(), "toolcache")
	cached := filepath.Join(toolCache, "signet-sign", "v9.9.9", "linux-amd64", "sign")
	install := func(base string) (string, error) {
		dest := filepath.Join(t.TempDir(), "bin")
		cmd := exec.Command("bash", installer)
		cmd.Env = append(os.Environ(), "SIGNET_VERSION=v9.9.9", "SIGNET_DOWNLOAD_BASE="+base,
			"SIGNET_INSTALL_DIR="+dest, "CURL_CA_BUNDLE="+ca, "RUNNER_TOOL_CACHE="+toolCache, "GITHUB_PATH=")
		out, err := cmd.CombinedOutput()
		if err == nil && string(readFile(t, filepath.Join(dest, "sign"))) != string(binary) {
			t.Fatalf("installed something else than the pinned binary:\n%s", out)
		}
		return string(out), err
	}
	if out, err := install(base); err != nil || downloads != 1 || string(readFile(t, cached)) != string(binary) {
		t.Fatalf("first install: %v, %d downloads, cache %s:\n%s", err, downloads, cached, out)
	}
	dead := "https://127.0.0.1:9"
	if out, err := install(dead); err != nil || !strings.Contains(out, "reusing the cached download") {
		t.Fatalf("second install (no server) did not reuse the cache: %v\n%s", err, out)
	}
	writeFile(t, filepath.Dir(cached), "sign", []byte("#!/bin/sh\necho trojan\n"))
	if out, err := install(dead); err == nil {
		t.Fatalf("a tampered cache with no server to download from was installed:\n%s", out)
	}
	if out, err := install(base); err != nil || downloads != 2 || !strings.Contains(out, "does not match the pinned checksum") ||
		string(readFile(t, cached)) != string(binary) {
		t.Fatalf("a tampered cache: %v, %d downloads, want a warning, a download and the cache repaired:\n%s", err, downloads, out)
	}
}

// TestInstallSignChoose: --choose says how the actions get sign: the
// pinned release when there is one, else a build from source (said in a
// notice), always a build for a KMS key (its plugin is not released alone),
// and a bad build-from-source value is an error.
func TestInstallSignChoose(t *testing.T) {
	requireTool(t, "bash")
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the fixture pins linux/amd64")
	}
	installer := pinnedInstaller(t, map[string]string{"v9.9.9": strings.Repeat("a", 64)})
	for _, c := range []struct{ version, build, key, want string }{
		{"v9.9.9", "auto", "", "source=release"},
		{"v1.0.0", "auto", "", "source=build"},
		{"v9.9.9", "auto", "awskms:///alias/release", "source=build"},
		{"v9.9.9", "true", "", "source=build"},
		{"v1.0.0", "false", "", "source=release"},
		{"v9.9.9", "maybe", "", ""},
	} {
		out := writeFile(t, t.TempDir(), "github_output", nil)
		cmd := exec.Command("bash", installer, "--choose")
		cmd.Env = append(os.Environ(), "SIGNET_VERSION="+c.version, "BUILD_FROM_SOURCE="+c.build, "SIGNET_KEY="+c.key, "GITHUB_OUTPUT="+out)
		log, err := cmd.CombinedOutput()
		got := strings.TrimSpace(string(readFile(t, out)))
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("%+v: wrote %q (err %v), want %q\n%s", c, got, err, c.want, log)
		}
		if c.want == "source=build" && c.build == "auto" && c.key == "" && !strings.Contains(string(log), "building sign from the action's source") {
			t.Errorf("%+v: no notice that sign is built from source:\n%s", c, log)
		}
	}
}
