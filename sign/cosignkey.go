package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// cosign's encrypted private key format (cosign/v2 pkg/cosign keys.go),
// written and read here rather than through cosign's package, which links
// its TUF client, LevelDB and more into every `sign` command's start-up.
const (
	sigstorePrivateKeyPEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
	cosignPrivateKeyPEM   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// errDecrypt marks a key that does not decrypt with the password given.
var errDecrypt = errors.New("decrypt")

// generateCosignKey is cosign.GenerateKeyPair: ECDSA P-256, PKCS#8,
// encrypted (scrypt + secretbox) under password, PEM type "ENCRYPTED
// SIGSTORE PRIVATE KEY"; the public key as PKIX PEM.
func generateCosignKey(password []byte) (privatePEM, publicPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("x509 encoding private key: %w", err)
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, nil, err
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: sigstorePrivateKeyPEM, Bytes: enc}), pub, nil
}

// loadCosignKey is cosign.LoadPrivateKey with its default options: either
// PEM type, decrypted with password; Ed25519 keys sign Ed25519ph, as cosign
// does (the only Ed25519 form hashedrekord entries take).
func loadCosignKey(data, password []byte) (signature.SignerVerifier, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("invalid pem block")
	}
	if block.Type != cosignPrivateKeyPEM && block.Type != sigstorePrivateKeyPEM {
		return nil, fmt.Errorf("unsupported pem type: %s", block.Type)
	}
	der, err := encrypted.Decrypt(block.Bytes, password)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDecrypt, err)
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	return signature.LoadDefaultSignerVerifier(pk, options.WithED25519ph())
}
