package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/test/clidoc"
)

// TestCLIReferenceIsCurrent keeps docs/cli/sign.md generated from the app's
// own help: a flag, environment variable or example that changes without
// the reference fails here (go test ./cmd/... -update refreshes it).
func TestCLIReferenceIsCurrent(t *testing.T) {
	md, err := clidoc.Reference(func(out *bytes.Buffer) *cli.App { return newApp(out, io.Discard) })
	if err != nil {
		t.Fatal(err)
	}
	if missing := clidoc.Undocumented(md); len(missing) > 0 {
		t.Errorf("help without an example or its environment: %v", missing)
	}
	if err := clidoc.Check("../../docs/cli/sign.md", md, *update); err != nil {
		t.Fatal(err)
	}
}
