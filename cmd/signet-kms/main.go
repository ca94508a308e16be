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
	"os"
	"os/signal"

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
	os.Exit(kmsplugin.Main(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr))
}
