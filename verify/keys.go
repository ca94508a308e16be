package verify

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature/kms"

	"github.com/signet-dev/signet/policy"
)

// publicKey returns a key identity's public key and key id, resolving KMS
// URIs once per Verifier.
func (v *Verifier) publicKey(ctx context.Context, k *policy.Key) (crypto.PublicKey, string, error) {
	if k.PublicKey != nil {
		return k.PublicKey, k.KeyID, nil
	}
	v.mu.Lock()
	if v.kmsKeys == nil {
		v.kmsKeys = map[string]crypto.PublicKey{}
	}
	pub := v.kmsKeys[k.KMS]
	v.mu.Unlock()
	if pub == nil {
		var err error
		if pub, err = v.loadKMS(ctx, k.KMS); err != nil {
			return nil, "", err
		}
		v.mu.Lock()
		v.kmsKeys[k.KMS] = pub
		v.mu.Unlock()
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(der)
	return pub, hex.EncodeToString(sum[:]), nil
}

// loadKMSKey resolves a KMS URI through sigstore's KMS registry. Providers
// register themselves when imported (cmd/sign and cmd/enforce import them).
func loadKMSKey(ctx context.Context, uri string) (crypto.PublicKey, error) {
	sv, err := kms.Get(ctx, uri, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading KMS key %s: %w", uri, err)
	}
	return sv.PublicKey()
}
