package cliapp

import (
	"context"
	"os/signal"
	"syscall"
)

// Serve runs a long-running service (enforce serve, signet-node run)
// until SIGINT or SIGTERM ends its context. A service that stops with an
// error (an address in use) is a local failure, exit 4, never the
// network's 3.
func Serve(prog string, run func(context.Context) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		return Exit(ExitFailure, prog+": "+err.Error())
	}
	return nil
}
