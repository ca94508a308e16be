// Package kmsplugin is the out-of-process side of sigstore's KMS CLI-plugin
// protocol (sigstore/pkg/signature/kms/cliplugin) for the four providers
// signet supports. `sign` links none of the cloud KMS SDKs: sigstore's
// kms.Get, finding no provider registered in the process, executes
// `sigstore-kms-<scheme>` (awskms://… runs sigstore-kms-awskms), and that
// executable is cmd/signet-kms, which links the SDKs and answers one method
// call per run. Go runs every linked package's init at start-up, so this is
// what keeps `sign policy lint` and `sign verify` from paying for AWS, Azure,
// Google Cloud and Vault clients they never use.
package kmsplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/signet-dev/signet/internal/buildinfo"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/encoding"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/handler"
)

// Schemes are the KMS URI schemes signet's plugin serves, each under the
// executable name cliplugin derives from it (Executable).
var Schemes = []string{"awskms", "azurekms", "gcpkms", "hashivault"}

// Executable is the plugin executable cliplugin runs for scheme.
func Executable(scheme string) string { return cliplugin.PluginBinaryPrefix + scheme }

// Scheme returns the scheme an executable named argv0 serves, and whether it
// is one of Schemes. Any other name is refused: a link named for a scheme no
// provider here registers would make kms.Get fall back to the plugin
// protocol again and run this same executable, without end.
func Scheme(argv0 string) (string, bool) {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	scheme, ok := strings.CutPrefix(base, cliplugin.PluginBinaryPrefix)
	if !ok {
		return "", false
	}
	for _, s := range Schemes {
		if s == scheme {
			return scheme, true
		}
	}
	return scheme, false
}

// Serve answers one plugin call: args are the plugin's os.Args (argv0, the
// protocol version, the JSON of the init options and method arguments),
// stdin the message to sign or verify; the response is JSON on stdout. The
// key is opened with the provider the calling process would have used
// in-process (scheme://KeyResourceID); any failure is sent back as the
// response's error message, which sigstore's client returns to its caller.
func Serve(ctx context.Context, scheme string, args []string, stdin io.Reader, stdout io.Writer) error {
	fail := func(err error) error {
		_ = handler.WriteErrorResponse(stdout, err)
		return err
	}
	pa, err := handler.GetPluginArgs(args)
	if err != nil {
		return fail(err)
	}
	if pa.InitOptions == nil || pa.MethodArgs == nil {
		return fail(errors.New("plugin arguments without initOptions or methodName"))
	}
	if v := pa.InitOptions.ProtocolVersion; v != common.ProtocolVersion {
		return fail(fmt.Errorf("KMS plugin protocol %q, this plugin speaks %q", v, common.ProtocolVersion))
	}
	if d := pa.InitOptions.CtxDeadline; d != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, *d)
		defer cancel()
	}
	var rpc []signature.RPCOption
	if pa.InitOptions.RPCOptions != nil {
		rpc = encoding.UnpackRPCOptions(pa.InitOptions.RPCOptions)
	}
	uri := scheme + "://" + pa.InitOptions.KeyResourceID
	sv, err := kms.Get(ctx, uri, pa.InitOptions.HashFunc, rpc...)
	if err != nil {
		return fail(err)
	}
	_, err = handler.Dispatch(stdout, stdin, pa, sv)
	return err
}

// Link creates, in dir, one symbolic link per scheme to target (the
// signet-kms executable), replacing links of those names that exist.
func Link(dir, target string) ([]string, error) {
	var made []string
	for _, s := range Schemes {
		p := filepath.Join(dir, Executable(s))
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return made, err
		}
		if err := os.Symlink(target, p); err != nil {
			return made, err
		}
		made = append(made, p)
	}
	return made, nil
}

// Hint adds to a kms.Get error for a missing plugin executable how to
// install it; other errors are returned as they are.
func Hint(err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("%w (sign runs KMS keys through signet-kms: install it on PATH or beside sign and run 'signet-kms link')", err)
	}
	return err
}

// FindBesideExecutable appends the directory of the running executable to
// PATH, so that plugins installed next to `sign` (the release archive, the
// images, `go install` into one bin directory) are found even when that
// directory is not on PATH. PATH keeps precedence: a plugin the user put on
// PATH is the one that runs.
func FindBesideExecutable() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	dir := filepath.Dir(exe)
	path := os.Getenv("PATH")
	for _, d := range filepath.SplitList(path) {
		if d == dir {
			return
		}
	}
	if path == "" {
		os.Setenv("PATH", dir)
		return
	}
	os.Setenv("PATH", path+string(os.PathListSeparator)+dir)
}

const usage = `usage: signet-kms link [DIR]
       sigstore-kms-<scheme> v1 <json>   (run by sign through a link of that name)

signet-kms is sign's KMS plugin for %s.
"link" creates the links sign runs in DIR (default: beside signet-kms);
sign finds them on PATH or beside its own executable.
`

// Main is signet-kms: as sigstore-kms-<scheme>, the plugin protocol for
// a linked provider; as itself, "link" and "version". It returns the exit
// status.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if scheme, ok := Scheme(args[0]); ok {
		// The protocol ignores the exit status; the error is in the response.
		if err := Serve(ctx, scheme, args, stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", filepath.Base(args[0]), err)
			return 1
		}
		return 0
	} else if scheme != "" {
		fmt.Fprintf(stderr, "signet-kms: no KMS provider for %q (this plugin serves %s)\n", scheme, strings.Join(Schemes, ", "))
		return 2
	}
	switch {
	case len(args) >= 2 && args[1] == "version":
		if err := buildinfo.Read().Write(stdout, "signet-kms"); err != nil {
			return 4
		}
		return 0
	case len(args) >= 2 && args[1] == "link" && len(args) <= 3:
		return link(args, stdout, stderr)
	}
	fmt.Fprintf(stderr, usage, strings.Join(Schemes, ", "))
	return 2
}

func link(args []string, stdout, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "signet-kms: %v\n", err)
		return 4
	}
	dir := filepath.Dir(exe)
	if len(args) == 3 {
		dir = args[2]
	}
	made, err := Link(dir, exe)
	for _, p := range made {
		fmt.Fprintf(stdout, "%s -> %s\n", p, exe)
	}
	if err != nil {
		fmt.Fprintf(stderr, "signet-kms: %v\n", err)
		return 4
	}
	return 0
}
