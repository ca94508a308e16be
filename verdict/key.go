package verdict

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// Signer signs claims with the webhook's ed25519 key.
type Signer struct {
	key   ed25519.PrivateKey
	keyID string
}

// NewSigner reads a PEM "PRIVATE KEY" (PKCS #8, ed25519), as GenerateKey
// writes it.
func NewSigner(pemKey []byte) (*Signer, error) {
	b, _ := pem.Decode(pemKey)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("verdict key: no PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("verdict key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("verdict key: %T, want an ed25519 key", k)
	}
	id, err := keyID(ek.Public().(ed25519.PublicKey))
	return &Signer{key: ek, keyID: id}, err
}

// KeyID names the signer's key (the sha256 of its public key, hex).
func (s *Signer) KeyID() string { return s.keyID }

// Sign returns the annotation value for c: a DSSE envelope, JSON.
func (s *Signer) Sign(c *Claim) (string, error) {
	payload, err := c.statement()
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(s.key, ssldsse.PAE(PayloadType, payload))
	env := ssldsse.Envelope{PayloadType: PayloadType, Payload: base64.StdEncoding.EncodeToString(payload),
		Signatures: []ssldsse.Signature{{KeyID: s.keyID, Sig: base64.StdEncoding.EncodeToString(sig)}}}
	out, err := json.Marshal(env)
	return string(out), err
}

// Verifier checks verdicts against the public keys a node trusts.
type Verifier struct {
	keys map[string]ed25519.PublicKey
}

// MaxEnvelope bounds the annotation a node decodes (a pod's annotations
// are at most 256 KiB in all).
const MaxEnvelope = 64 << 10

// NewVerifier reads one or more PEM "PUBLIC KEY" blocks (ed25519): more
// than one while a key is being rotated.
func NewVerifier(pemKeys []byte) (*Verifier, error) {
	v := &Verifier{keys: map[string]ed25519.PublicKey{}}
	for rest := pemKeys; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "PUBLIC KEY" {
			continue
		}
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("verdict public key: %w", err)
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("verdict public key: %T, want an ed25519 key", k)
		}
		id, err := keyID(ek)
		if err != nil {
			return nil, err
		}
		v.keys[id] = ek
	}
	if len(v.keys) == 0 {
		return nil, errors.New("verdict public keys: no PEM PUBLIC KEY block")
	}
	return v, nil
}

// ErrSignature: the verdict is not signed by a key the node trusts.
var ErrSignature = errors.New("verdict is not signed by a key this node trusts")

// Verify checks the envelope's signature and returns its claim. It says
// nothing about what the claim covers: see Claim.Covers.
func (v *Verifier) Verify(annotation string) (*Claim, error) {
	if len(annotation) > MaxEnvelope {
		return nil, fmt.Errorf("verdict of %d bytes, over %d", len(annotation), MaxEnvelope)
	}
	var env ssldsse.Envelope
	if err := json.Unmarshal([]byte(annotation), &env); err != nil {
		return nil, fmt.Errorf("verdict is not a DSSE envelope: %w", err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("verdict payload type %q, want %q", env.PayloadType, PayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("verdict payload: %w", err)
	}
	pae := ssldsse.PAE(env.PayloadType, payload)
	for _, s := range env.Signatures {
		k, ok := v.keys[s.KeyID]
		if !ok {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil || !ed25519.Verify(k, pae, sig) {
			continue
		}
		c, err := parseStatement(payload)
		if err != nil {
			return nil, err
		}
		c.KeyID = s.KeyID
		return c, nil
	}
	return nil, fmt.Errorf("%w (key IDs %s)", ErrSignature, keyIDs(env.Signatures))
}

func keyIDs(sigs []ssldsse.Signature) string {
	var ids []string
	for _, s := range sigs {
		ids = append(ids, s.KeyID)
	}
	return "[" + strings.Join(ids, ", ") + "]"
}

func keyID(k ed25519.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// GenerateKey makes a new verdict key pair, PEM: the private key for the
// webhook, the public key for the nodes.
func GenerateKey() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), nil
}

// WriteKeyPair makes a key pair (GenerateKey) and writes it into dir as
// verdict.key and verdict.pub, both mode 0600 (they travel together in one
// Secret), and returns the two paths.
func WriteKeyPair(dir string) ([]string, error) {
	priv, pub, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range []struct {
		name string
		data []byte
	}{{"verdict.key", priv}, {"verdict.pub", pub}} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
