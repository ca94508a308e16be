// Command signet-kms is the KMS plugin of signet's `sign`: one executable
// installed under the names sigstore's KMS CLI-plugin protocol looks for
// (sigstore-kms-awskms, sigstore-kms-azurekms, sigstore-kms-gcpkms,
// sigstore-kms-hashivault), which links the cloud KMS SDKs so that `sign`
// does not have to initialise them on every run (internal/kmsplugin).
//
// Run under its own name it installs those links:
//
//	signet-kms link [DIR]   # default: the directory signet-kms is in
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/signet-dev/signet/internal/buildinfo"
	"github.com/signet-dev/signet/internal/kmsplugin"

	// The providers register their schemes with sigstore's kms package.
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: signet-kms link [DIR]
       sigstore-kms-<scheme> v1 <json>   (run by sign through a link of that name)

signet-kms is sign's KMS plugin for %s.
"link" creates the links sign runs in DIR (default: beside signet-kms);
sign finds them on PATH or beside its own executable.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if scheme, ok := kmsplugin.Scheme(args[0]); ok {
		// The protocol ignores the exit status; the error is in the response.
		if err := kmsplugin.Serve(ctx, scheme, args, stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", filepath.Base(args[0]), err)
			return 1
		}
		return 0
	} else if scheme != "" {
		fmt.Fprintf(stderr, "signet-kms: no KMS provider for %q (this plugin serves %s)\n", scheme, strings.Join(kmsplugin.Schemes, ", "))
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
	fmt.Fprintf(stderr, usage, strings.Join(kmsplugin.Schemes, ", "))
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
	made, err := kmsplugin.Link(dir, exe)
	for _, p := range made {
		fmt.Fprintf(stdout, "%s -> %s\n", p, exe)
	}
	if err != nil {
		fmt.Fprintf(stderr, "signet-kms: %v\n", err)
		return 4
	}
	return 0
}
