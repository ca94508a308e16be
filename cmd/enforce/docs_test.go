package main

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/clidoc"
)

var update = flag.Bool("update", false, "rewrite the generated CLI reference")

// TestCLIReferenceIsCurrent keeps docs/cli/enforce.md generated from the app.
func TestCLIReferenceIsCurrent(t *testing.T) {
	md, err := clidoc.Reference(func(out *bytes.Buffer) *cli.App {
		app := newApp()
		app.Writer = out
		return app
	})
	if err != nil {
		t.Fatal(err)
	}
	const path = "../../docs/cli/enforce.md"
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
