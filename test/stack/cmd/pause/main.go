// Command pause is the node's pod sandbox process (what registry.k8s.io/pause is
// elsewhere): it holds the pod's namespaces, reaps orphaned children and exits
// on SIGINT or SIGTERM. test/stack builds it and packs it into a one-layer image
// in the stack's registry, so no image is pulled from a public registry. It also
// serves as a workload that runs until stopped.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, _ := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 {
				break
			}
		}
	}
}
