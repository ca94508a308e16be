package cliapp

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
)

func TestServe(t *testing.T) {
	cases := []struct {
		name string
		run  func(context.Context) error
		code int
		out  string
	}{
		{"SIGTERM ends the service's context: a clean shutdown", func(ctx context.Context) error {
			if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		}, ExitOK, ""},
		{"a service that fails to run is a local failure, not a network one", func(context.Context) error {
			return errors.New("listen tcp :8443: bind: address already in use")
		}, ExitFailure, "enforce: listen tcp :8443"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			if got := Code("enforce", Serve("enforce", c.run), &out); got != c.code || !strings.Contains(out.String(), c.out) {
				t.Fatalf("exit %d %q, want %d %q", got, out.String(), c.code, c.out)
			}
		})
	}
	_ = io.Discard
}
