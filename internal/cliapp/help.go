package cliapp

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/urfave/cli/v2"
)

// describe gives app and every command under it its help prose from a
// text file beside the binary's source: help/<app>.txt, help/<command>.txt,
// help/<command>-<subcommand>.txt (embedded). Prose lives in files, so a
// command's Go is its wiring. A command without its file panics: every
// test that builds the app finds it.
func describe(app *cli.App, help fs.FS) {
	app.Description = helpText(help, app.Name)
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimPrefix(prefix+"-"+c.Name, "-")
			c.Description = helpText(help, name)
			walk(name, c.Subcommands)
		}
	}
	walk("", app.Commands)
}

func helpText(help fs.FS, name string) string {
	b, err := fs.ReadFile(help, "help/"+name+".txt")
	if err != nil {
		panic(fmt.Sprintf("cliapp: no help for %s: %v", name, err))
	}
	return strings.TrimSuffix(string(b), "\n")
}
