package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/signet-dev/signet/policy"
)

// GenerateKeyPair creates an ECDSA P-256 key pair in cosign's format: the
// private key encrypted with password (scrypt + secretbox, PEM type
// "ENCRYPTED SIGSTORE PRIVATE KEY") and the PKIX public key PEM, in the
// format cosign writes, so `cosign sign --key` reads it.
func GenerateKeyPair(password []byte) (privatePEM, publicPEM []byte, err error) {
	privatePEM, publicPEM, err = generateCosignKey(password)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key pair: %w", err)
	}
	return privatePEM, publicPEM, nil
}

// ErrWrongPassword is returned when a cosign key does not decrypt.
var ErrWrongPassword = errors.New("wrong password for the encrypted key (set COSIGN_PASSWORD)")

// LoadKey decrypts a cosign private key with password. ref is cosign's
// --key: a file, or env://VAR for the PEM held by the environment variable
// VAR (ReadKeyRef).
func LoadKey(ref string, password []byte) (*Keypair, error) {
	data, err := ReadKeyRef(ref)
	if err != nil {
		return nil, err
	}
	sv, err := loadCosignKey(data, password)
	if err != nil {
		if errors.Is(err, errDecrypt) {
			return nil, fmt.Errorf("loading key %s: %w", ref, ErrWrongPassword)
		}
		return nil, fmt.Errorf("loading key %s: %w", ref, err)
	}
	return NewKeypair(sv, ref)
}

// ReadKeyRef reads a key the way cosign's --key names one: env://VAR is
// the PEM held by the environment variable VAR (a CI secret: GitLab's
// COSIGN_PRIVATE_KEY, a GitHub secret in a step's env), anything else is a
// file. A KMS URI is not read here (IsKMS, LoadKMS).
func ReadKeyRef(ref string) ([]byte, error) {
	if name, ok := strings.CutPrefix(ref, "env://"); ok {
		v, set := os.LookupEnv(name)
		switch {
		case name == "":
			return nil, fmt.Errorf("key %s: name the environment variable, e.g. env://COSIGN_PRIVATE_KEY", ref)
		case !set:
			return nil, fmt.Errorf("key %s: the environment variable %s is not set", ref, name)
		case strings.TrimSpace(v) == "":
			return nil, fmt.Errorf("key %s: the environment variable %s is empty", ref, name)
		}
		return []byte(v), nil
	}
	data, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("reading key %s: %w", ref, err)
	}
	return data, nil
}

// LoadKMS returns a Keypair signing through a KMS key URI (awskms://,
// gcpkms://, azurekms://, hashivault://): a provider the binary links, or
// else sigstore's KMS plugin executable for the scheme (cmd/signet-kms for
// sign, which links none).
func LoadKMS(ctx context.Context, uri string) (*Keypair, error) {
	sv, err := kms.Get(ctx, uri, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading KMS key %s: %w", uri, err)
	}
	kp, err := NewKeypair(sv, uri)
	if err != nil {
		return nil, err
	}
	kp.KMS = uri
	return kp, nil
}

// PublicKeySpec is a key to verify with, named as cosign verify's --key
// names it, as a trust file's key identity: a KMS URI, the PEM held by
// env://VAR (read now), or a file (read when the policy loads).
func PublicKeySpec(ref string) (*policy.KeySpec, error) {
	switch {
	case IsKMS(ref):
		return &policy.KeySpec{KMS: ref}, nil
	case strings.HasPrefix(ref, "env://"):
		pem, err := ReadKeyRef(ref)
		return &policy.KeySpec{PublicKey: string(pem)}, err
	}
	return &policy.KeySpec{Path: ref}, nil
}

// IsKMS reports whether ref is a KMS URI rather than a file path.
func IsKMS(ref string) bool {
	for _, p := range []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"} {
		if strings.HasPrefix(ref, p) {
			return true
		}
	}
	return false
}

// Keypair adapts a sigstore SignerVerifier (a decrypted key file or a KMS
// key) to sigstore-go's sign.Keypair, so key signing and keyless signing
// share one bundle-building path.
type Keypair struct {
	sv     signature.SignerVerifier
	pub    crypto.PublicKey
	alg    protocommon.PublicKeyDetails
	keyAlg string
	hint   string
	// Source is the key file or KMS URI, for messages.
	Source string
	// KMS is the KMS URI when the key lives in a KMS.
	KMS string
	// KeyID is the hex sha256 of the PKIX public key, as the trust policy
	// and verify decisions identify keys.
	KeyID string
}

var _ sgsign.Keypair = (*Keypair)(nil)

// NewKeypair wraps sv. Only SHA-256 based ECDSA, RSA PKCS#1 v1.5 and
// Ed25519 keys are supported, cosign's key types.
func NewKeypair(sv signature.SignerVerifier, source string) (*Keypair, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("reading public key of %s: %w", source, err)
	}
	kp := &Keypair{sv: sv, pub: pub, Source: source}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		kp.keyAlg = "ECDSA"
		switch k.Curve.Params().BitSize {
		case 256:
			kp.alg = protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
		default:
			return nil, fmt.Errorf("key %s: only ECDSA P-256 keys are supported (cosign's default)", source)
		}
	case *rsa.PublicKey:
		kp.keyAlg, kp.alg = "RSA", protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256
	case ed25519.PublicKey:
		kp.keyAlg, kp.alg = "ED25519", protocommon.PublicKeyDetails_PKIX_ED25519
	default:
		return nil, fmt.Errorf("key %s: unsupported key type %T", source, pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", source, err)
	}
	sum := sha256.Sum256(der)
	kp.hint = base64.StdEncoding.EncodeToString(sum[:])
	kp.KeyID = hex.EncodeToString(sum[:])
	return kp, nil
}

func (k *Keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}
func (k *Keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails { return k.alg }
func (k *Keypair) GetHint() []byte                                   { return []byte(k.hint) }
func (k *Keypair) GetKeyAlgorithm() string                           { return k.keyAlg }
func (k *Keypair) GetPublicKey() crypto.PublicKey                    { return k.pub }

func (k *Keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.pub)
	return string(b), err
}

// SignData signs data (hashing it with SHA-256 first, except Ed25519) and
// returns the signature and the digest, as sigstore-go expects.
func (k *Keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	sig, err := k.sv.SignMessage(bytes.NewReader(data), options.WithContext(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("signing with %s: %w", k.Source, err)
	}
	if k.alg == protocommon.PublicKeyDetails_PKIX_ED25519 {
		return sig, data, nil
	}
	sum := sha256.Sum256(data)
	return sig, sum[:], nil
}

// ephemeralKeypair is the throwaway key of a keyless run.
func ephemeralKeypair() (sgsign.Keypair, error) {
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("generating ephemeral key: %w", err)
	}
	return kp, nil
}

// ExistsError says a key file is already there (and overwriting was not
// asked for).
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string { return e.Path + " exists (use --force to overwrite)" }

// WriteKeyPair generates a key pair encrypted with password and writes it
// to PREFIX.key (mode 0600) and PREFIX.pub, refusing to overwrite either
// unless force.
func WriteKeyPair(prefix string, password []byte, force bool) (keyPath, pubPath string, err error) {
	keyPath, pubPath = prefix+".key", prefix+".pub"
	if !force {
		for _, p := range []string{keyPath, pubPath} {
			if _, err := os.Stat(p); err == nil {
				return "", "", &ExistsError{Path: p}
			}
		}
	}
	priv, pub, err := GenerateKeyPair(password)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, priv, 0o600); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", keyPath, err)
	}
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", pubPath, err)
	}
	return keyPath, pubPath, nil
}
