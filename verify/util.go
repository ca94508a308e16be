package verify

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

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

func mustHash(d name.Digest) v1.Hash {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		// name.Digest validated the digest when it was parsed.
		panic(fmt.Sprintf("verify: invalid digest %q: %v", d.DigestStr(), err))
	}
	return h
}

func sanOf(vc sgverify.VerificationContent) string {
	cert := vc.Certificate()
	if cert == nil {
		return ""
	}
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return cert.Subject.String()
	}
	return s.SubjectAlternativeName
}

func logIndex(c *candidate) *int64 {
	entries, err := c.entity.TlogEntries()
	if err != nil || len(entries) == 0 {
		return nil
	}
	i := entries[0].LogIndex()
	return &i
}

func timestamps(res *sgverify.VerificationResult) []Timestamp {
	var out []Timestamp
	for _, t := range res.VerifiedTimestamps {
		kind := "tsa"
		if t.Type == "Tlog" {
			kind = "tlog"
		}
		out = append(out, Timestamp{Kind: kind, URI: t.URI, Time: t.Timestamp.UTC()})
	}
	return out
}

func isSignatureMismatch(err error) bool {
	var ve *sgverify.ErrVerification
	return errors.As(err, &ve) || strings.Contains(err.Error(), "invalid signature") || strings.Contains(err.Error(), "failed to verify signature")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// explainSigstoreError rewrites sigstore-go's errors where a developer would
// not know what to do with them; others pass through unchanged.
func explainSigstoreError(err error, cert *x509.Certificate) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "threshold not met for verified signed & log entry integrated timestamps"):
		window := ""
		if cert != nil {
			window = fmt.Sprintf(" (valid %s to %s)", cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
		}
		return "no trusted time for the signature: it has neither a verifiable transparency log entry nor an RFC 3161 timestamp, so its short-lived certificate" + window + " cannot be checked"
	case strings.Contains(msg, "certificate signed by unknown authority"), strings.Contains(msg, "leaf certificate verification failed"):
		return "certificate does not chain to a Fulcio CA of the trusted root, valid at the signing time (" + msg + ")"
	}
	return msg
}

// shortDigest is a digest for a sentence: the full digest is in the
// decision's digest field; messages keep it recognisable, not exhaustive.
func shortDigest(d name.Digest) string {
	s := d.DigestStr()
	if len(s) > 19 {
		return s[:19] + "…"
	}
	return s
}
