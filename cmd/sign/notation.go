package main

import (
	"github.com/urfave/cli/v2"
)

// notationFlags sign with the Notary Project, beside or instead of
// Sigstore (image and preflight).
func notationFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "notation-key", Usage: "also sign with Notation: a PEM private key file (PKCS#8, as notation writes) or a KMS URI (ECDSA P-256)", EnvVars: []string{"SIGNET_NOTATION_KEY"}},
		&cli.StringFlag{Name: "notation-cert", Usage: "the Notation key's PEM certificate chain, leaf first, root last", EnvVars: []string{"SIGNET_NOTATION_CERT"}},
		&cli.StringFlag{Name: "notation-envelope", Value: "jws", Usage: "Notation signature envelope: jws or cose", EnvVars: []string{"SIGNET_NOTATION_ENVELOPE"}},
		&cli.StringFlag{Name: "notation-timestamp-url", Usage: "RFC 3161 timestamp authority for the Notation signature", EnvVars: []string{"SIGNET_NOTATION_TIMESTAMP_URL"}},
		&cli.StringFlag{Name: "notation-timestamp-root", Usage: "PEM root certificate of that timestamp authority (required with it)", EnvVars: []string{"SIGNET_NOTATION_TIMESTAMP_ROOT"}},
		&cli.BoolFlag{Name: "sigstore", Value: true, Usage: "sign with Sigstore (key or keyless); --sigstore=false with --notation-key signs with Notation only", EnvVars: []string{"SIGNET_SIGSTORE"}},
	}
}
