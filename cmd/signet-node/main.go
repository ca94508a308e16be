// Command signet-node is signet's NRI plugin: containerd (or CRI-O) asks
// it about every container a node creates, and it refuses those the trust
// file refuses, with the same engine as the admission webhook (package
// enforce/node).
package main

import (
	"embed"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
)

// help is the prose of every command's --help (cliapp.Setup).
//
//go:embed help
var help embed.FS

func main() {
	os.Exit(cliapp.Code("signet-node", newApp().Run(os.Args), os.Stderr))
}

func newApp() *cli.App {
	app := &cli.App{
		Name:     "signet-node",
		Usage:    "NRI plugin: the node refuses containers whose image the trust file refuses",
		Commands: []*cli.Command{runCommand(), keygenCommand()},
	}
	cliapp.Setup(app, help)
	return app
}
