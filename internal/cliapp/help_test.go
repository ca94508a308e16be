package cliapp

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/urfave/cli/v2"
)

func TestSetupDescribesEveryCommandFromItsFile(t *testing.T) {
	help := fstest.MapFS{
		"help/sign.txt":        {Data: []byte("the app\n")},
		"help/verify.txt":      {Data: []byte("Example:\n   sign verify IMAGE\n")},
		"help/policy.txt":      {Data: []byte("policies")},
		"help/policy-lint.txt": {Data: []byte("lint a file\n\n")},
	}
	app := &cli.App{Name: "sign", Commands: []*cli.Command{{Name: "verify"}, {Name: "policy", Subcommands: []*cli.Command{{Name: "lint"}}}}}
	Setup(app, help)
	got := []string{app.Description, app.Commands[0].Description, app.Commands[1].Description, app.Commands[1].Subcommands[0].Description}
	want := []string{"the app", "Example:\n   sign verify IMAGE", "policies", "lint a file\n"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("description %d = %q, want %q (one final newline dropped, the rest kept)", i, got[i], want[i])
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "policy-explain") {
			t.Fatalf("recovered %v, want a panic naming the command without help", r)
		}
	}()
	Setup(&cli.App{Name: "sign", Commands: []*cli.Command{{Name: "policy", Subcommands: []*cli.Command{{Name: "explain"}}}}}, help)
}
