package citest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestInstallSignVerifiesPinnedChecksum runs the action's installer against a
// local HTTPS release server. Only a binary whose SHA-256 is pinned in the
// script is installed; an unknown version or different bytes are refused.
func TestInstallSignVerifiesPinnedChecksum(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sha256sum"} {
		requireTool(t, tool)
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the fixture pins linux/amd64")
	}
	binary := []byte("#!/bin/sh\necho sign version v9.9.9\n")
	sum := sha256.Sum256(binary)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v9.9.9/sign_linux_amd64":
			w.Write(binary)
		case "/v9.9.8/sign_linux_amd64":
			w.Write(append(binary, '#')) // tampered
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := writeFile(t, dir, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	// The release process adds pins between the BEGIN/END markers; do the same.
	script := string(readRepoFile(t, "ci-templates/github/install-sign.sh"))
	const anchor = "  *) ;;\nesac\n# END signet release checksums"
	if !strings.Contains(script, anchor) {
		t.Fatal("install-sign.sh lost its checksum block")
	}
	good := hex.EncodeToString(sum[:])
	pins := `  "v9.9.9 linux/amd64") expected=` + good + " ;;\n" +
		`  "v9.9.8 linux/amd64") expected=` + good + " ;;\n"
	installer := writeFile(t, dir, "install-sign.sh", []byte(strings.Replace(script, anchor, pins+anchor, 1)))

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
			cmd.Env = append(os.Environ(), "SIGNET_VERSION="+c.version, "SIGNET_DOWNLOAD_BASE="+srv.URL,
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
	script := string(readRepoFile(t, "ci-templates/github/install-sign.sh"))
	const anchor = "  *) ;;\nesac\n# END signet release checksums"
	pinned := strings.Replace(script, anchor, `  "v9.9.9 linux/amd64") expected=`+strings.Repeat("a", 64)+" ;;\n"+anchor, 1)
	installer := writeFile(t, t.TempDir(), "install-sign.sh", []byte(pinned))
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

// TestInstallSignShellcheck: the installer is clean under shellcheck (bash).
func TestInstallSignShellcheck(t *testing.T) {
	sc := requireTool(t, "shellcheck")
	p := filepath.Join(repoRoot(t), "ci-templates", "github", "install-sign.sh")
	if out, err := exec.Command(sc, "--severity=style", p).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
