package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/kmsplugin"
)

// TestUnservedSchemeIsRefused: run as sigstore-kms-<scheme> for a scheme no
// linked provider serves, the plugin stops with an error instead of letting
// kms.Get fall back to the plugin protocol and run itself again.
func TestUnservedSchemeIsRefused(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := kmsplugin.Main(context.Background(), []string{"/usr/bin/sigstore-kms-localkms", "v1", "{}"}, strings.NewReader(""), &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `no KMS provider for "localkms"`) {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestLinkCreatesTheFourNames: `signet-kms link DIR` makes the names sign
// runs, each a link to the running executable.
func TestLinkCreatesTheFourNames(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := kmsplugin.Main(context.Background(), []string{"signet-kms", "link", dir}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	exe, _ := os.Executable()
	for _, s := range []string{"awskms", "azurekms", "gcpkms", "hashivault"} {
		if target, err := os.Readlink(filepath.Join(dir, "sigstore-kms-"+s)); err != nil || target != exe {
			t.Errorf("sigstore-kms-%s -> %q (%v), want %s", s, target, err, exe)
		}
	}
}
