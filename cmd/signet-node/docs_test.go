package main

import (
	"bytes"
	"flag"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/test/clidoc"
)

var update = flag.Bool("update", false, "rewrite the generated CLI reference")

// TestCLIReferenceIsCurrent keeps docs/cli/signet-node.md generated from the app.
func TestCLIReferenceIsCurrent(t *testing.T) {
	md, err := clidoc.Reference(func(out *bytes.Buffer) *cli.App {
		app := newApp()
		app.Writer = out
		return app
	})
	if err != nil {
		t.Fatal(err)
	}
	if missing := clidoc.Undocumented(md); len(missing) > 0 {
		t.Errorf("help without an example or its environment: %v", missing)
	}
	if err := clidoc.Check("../../docs/cli/signet-node.md", md, *update); err != nil {
		t.Fatal(err)
	}
}
