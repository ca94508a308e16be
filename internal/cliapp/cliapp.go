// Package cliapp holds what sign and enforce share as command-line programs:
// one table of exit codes, the version and completion commands, and the
// mapping from an error to its exit code. Scripts branch on exit codes, so
// a usage mistake (2) must never look like a registry outage (3).
package cliapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/suggest"
)

// Exit codes, documented in the README and in each binary's help.
const (
	ExitOK      = 0 // success
	ExitDenied  = 1 // a decision said no: an image denied, preflight or post-check refused
	ExitUsage   = 2 // usage or configuration: bad flags or arguments, an invalid trust file
	ExitNetwork = 3 // a registry or Sigstore service could not be reached or failed
	ExitFailure = 4 // any other runtime failure (files, keys, signing)
)

// ExitCodes is the table as help text, for the binaries' descriptions.
const ExitCodes = `Exit status: 0 success, 1 denied (an image, preflight or post-check said
no), 2 usage or configuration error, 3 registry or network failure,
4 other runtime failure.`

// exitError is an error that carries its exit code; only this package
// creates them, so a code from anywhere else is never mistaken for one.
type exitError struct {
	code int
	msg  string
	err  error
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) Unwrap() error { return e.err }

// Exit returns an error that makes the program exit with code, printing msg
// (nothing when msg is empty).
func Exit(code int, msg string) error { return &exitError{code: code, msg: msg} }

// Usagef is a usage or configuration error (exit 2), prefixed with the program name.
func Usagef(prog, format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: prog + ": " + fmt.Sprintf(format, args...)}
}

// Failure classifies a runtime error: 3 when a network or registry call
// failed, 4 otherwise.
func Failure(prog string, err error) error {
	code := ExitFailure
	if IsNetwork(err) {
		code = ExitNetwork
	}
	return &exitError{code: code, msg: prog + ": " + err.Error(), err: err}
}

// IsNetwork reports whether err comes from talking to a server: a registry
// answer (go-containerregistry's transport.Error), a dial, DNS or TLS
// failure, a URL error from an HTTP client, or a deadline.
func IsNetwork(err error) bool {
	var te *transport.Error
	var ne net.Error
	var ue *url.Error
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &te) || errors.As(err, &ne) || errors.As(err, &ue) || errors.As(err, &op) ||
		errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded)
}

var noHelpTopic = regexp.MustCompile(`^No help topic for '(.*)'`)

// Run runs app with args (os.Args) and returns its exit code (Code). An
// unknown command is named with the nearest command at its level: `sign
// verfy` suggests verify, `sign policy lnt` suggests lint.
func Run(app *cli.App, args []string, stderr io.Writer) int {
	err := app.Run(args)
	if err != nil {
		if m := noHelpTopic.FindStringSubmatch(err.Error()); m != nil {
			err = Usagef(app.Name, "unknown command %q%s (%s --help lists the commands)",
				m[1], suggest.DidYouMean(m[1], commandsBefore(app.Commands, args, m[1])), app.Name)
		}
	}
	return Code(app.Name, err, stderr)
}

// commandsBefore lists the names of the commands at the level where unknown
// was typed: the subcommands of the last command named in args before it.
func commandsBefore(cmds []*cli.Command, args []string, unknown string) []string {
	for _, a := range args[min(1, len(args)):] {
		if a == unknown {
			break
		}
		for _, c := range cmds {
			if c.HasName(a) && len(c.Subcommands) > 0 {
				cmds = c.Subcommands
			}
		}
	}
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	return names
}

// Code maps the error an app returned to the exit code, printing its message
// to stderr. A cli.Exit keeps its code; plain errors are usage errors:
// urfave/cli returns them for unknown flags and missing required flags. Its
// "No help topic" (exit 3, which means network here) becomes a usage error.
func Code(prog string, err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	if m := noHelpTopic.FindStringSubmatch(err.Error()); m != nil {
		fmt.Fprintf(stderr, "%s: unknown command %q (%s --help lists the commands)\n", prog, m[1], prog)
		return ExitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintf(stderr, "%s: %v\n", prog, err)
	return ExitUsage
}
