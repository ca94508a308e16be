package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
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

// notationOnly reports --sigstore=false.
func notationOnly(c *cli.Context) bool { return c.IsSet("sigstore") && !c.Bool("sigstore") }

// loadNotation is the run's Notation signer, nil without --notation-key.
func loadNotation(c *cli.Context) (*sign.Notation, error) {
	key, chain := c.String("notation-key"), c.String("notation-cert")
	switch {
	case key == "" && chain == "":
		if notationOnly(c) {
			return nil, errors.New("--sigstore=false leaves nothing to sign with: give --notation-key and --notation-cert")
		}
		return nil, nil
	case key == "" || chain == "":
		return nil, errors.New("Notation signing needs both --notation-key and --notation-cert")
	}
	o := sign.NotationOptions{Envelope: c.String("notation-envelope"), TSAURL: c.String("notation-timestamp-url")}
	if path := c.String("notation-timestamp-root"); path != "" {
		root, err := readCertificate(path)
		if err != nil {
			return nil, err
		}
		o.TSARoot = root
	}
	return sign.LoadNotation(c.Context, key, chain, o)
}

func readCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading timestamp authority root: %w", err)
	}
	certs, err := policy.ParseCertificates(data)
	if err != nil || len(certs) != 1 {
		return nil, fmt.Errorf("timestamp authority root %s: want one PEM certificate (%v)", path, err)
	}
	return certs[0], nil
}
