package cliapp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/urfave/cli/v2"
)

func TestCode(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	cases := []struct {
		name string
		err  error
		code int
		out  string
	}{
		{"success", nil, ExitOK, ""},
		{"a dial failure deep in a signing error is a network failure", Failure("sign", fmt.Errorf("resolving x: %w", refused)), ExitNetwork, "sign: resolving x"},
		{"a registry's error answer is a network failure", Failure("sign", &transport.Error{StatusCode: 503}), ExitNetwork, ""},
		{"a local error is a runtime failure", Failure("sign", errors.New("writing k.key: disk full")), ExitFailure, "disk full"},
		{"a usage error", Usagef("sign", "bad %s", "flag"), ExitUsage, "sign: bad flag"},
		{"a denial keeps its code", cli.Exit("", ExitDenied), ExitDenied, ""},
		{"urfave's unknown help topic is usage, not network", cli.Exit("No help topic for 'x'", 3), ExitUsage, `unknown command "x"`},
		{"a plain error (missing required flag) is usage", errors.New(`Required flag "tls-cert" not set`), ExitUsage, "tls-cert"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			if got := Code("sign", c.err, &out); got != c.code || !strings.Contains(out.String(), c.out) {
				t.Fatalf("code %d output %q, want %d containing %q", got, out.String(), c.code, c.out)
			}
		})
	}
	_ = io.Discard
}
