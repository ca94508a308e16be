package main

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/clidoc"
)

// TestCLIReferenceIsCurrent keeps docs/cli/sign.md generated from the app's
// own help: a flag, environment variable or example that changes without
// the reference fails here (go test ./cmd/... -update refreshes it).
func TestCLIReferenceIsCurrent(t *testing.T) {
	md, err := clidoc.Reference(func(out *bytes.Buffer) *cli.App { return newApp(out, io.Discard) })
	if err != nil {
		t.Fatal(err)
	}
	const path = "../../docs/cli/sign.md"
	if *update {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want, err := os.ReadFile(path); err != nil || string(want) != md {
		t.Fatalf("%s is stale: run go test ./cmd/... -update", path)
	}
}
