// Command signet-node is signet's NRI plugin: containerd (or CRI-O) asks
// it about every container a node creates, and it refuses those the trust
// file refuses, with the same engine as the admission webhook (package
// enforce/node).
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
)

func main() {
	os.Exit(cliapp.Code("signet-node", newApp().Run(os.Args), os.Stderr))
}

func newApp() *cli.App {
	app := &cli.App{
		Name:  "signet-node",
		Usage: "NRI plugin: the node refuses containers whose image the trust file refuses",
		Description: `Usually run by the Helm chart as a DaemonSet (node.enabled), connected to
the container runtime's NRI socket, with the same trust.yaml as the webhook.

Example:
   signet-node run --policy /etc/signet/trust.yaml --nri-socket /var/run/nri/nri.sock

Environment: every flag of run has a SIGNET_NODE_ variable (signet-node run --help).

Exit status: 0 after a clean shutdown (SIGTERM), 2 usage or configuration
error, 4 runtime failure (the NRI socket cannot be reached).`,
		Commands: []*cli.Command{runCommand(), keygenCommand()},
	}
	cliapp.Setup(app)
	return app
}
