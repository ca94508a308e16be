package notationtest

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/cose" // registers the COSE envelope
	_ "github.com/notaryproject/notation-core-go/signature/jws"  // registers the JWS envelope
	"github.com/notaryproject/tspclient-go"

	"github.com/signet-dev/signet/ocisig"
)

// PayloadContentType is the Notary Project payload's content type.
const PayloadContentType = "application/vnd.cncf.notary.payload.v1+json"

// Payload is the Notary Project payload that signs desc: its target
// artifact descriptor.
func Payload(t testing.TB, desc v1.Descriptor) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"targetArtifact": map[string]any{
		"mediaType": desc.MediaType, "digest": desc.Digest.String(), "size": desc.Size}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SignOptions shape an envelope.
type SignOptions struct {
	// MediaType is the envelope's: ocisig.NotationJWSMediaType (default)
	// or ocisig.NotationCOSEMediaType.
	MediaType string
	// SigningTime defaults to now; Expiry to none.
	SigningTime, Expiry time.Time
	// TSA timestamps the signature (signing scheme notary.x509 only).
	TSA *TSA
	// SigningAuthority signs with scheme notary.x509.signingAuthority.
	SigningAuthority bool
	// VerificationPlugin names a verification plugin (a critical
	// extended attribute), as plugin-based signers do.
	VerificationPlugin string
}

// Sign signs payload with the leaf, as notation-core-go signs for the
// notation CLI, and returns the envelope.
func Sign(t testing.TB, l *Leaf, payload []byte, o SignOptions) []byte {
	t.Helper()
	if o.MediaType == "" {
		o.MediaType = ocisig.NotationJWSMediaType
	}
	if o.SigningTime.IsZero() {
		o.SigningTime = time.Now()
	}
	s, err := signature.NewLocalSigner(l.Chain, l.Key)
	if err != nil {
		t.Fatal(err)
	}
	env, err := signature.NewEnvelope(o.MediaType)
	if err != nil {
		t.Fatal(err)
	}
	req := &signature.SignRequest{
		Payload:       signature.Payload{ContentType: PayloadContentType, Content: payload},
		Signer:        s,
		SigningTime:   o.SigningTime,
		Expiry:        o.Expiry,
		SigningScheme: signature.SigningSchemeX509,
		SigningAgent:  "notationtest/1",
	}
	if o.VerificationPlugin != "" {
		req.ExtendedSignedAttributes = []signature.Attribute{{Key: "io.cncf.notary.verificationPlugin", Critical: true, Value: o.VerificationPlugin}}
	}
	if o.SigningAuthority {
		req.SigningScheme = signature.SigningSchemeX509SigningAuthority
	}
	if o.TSA != nil {
		if req.Timestamper, err = tspclient.NewHTTPTimestamper(nil, o.TSA.URL); err != nil {
			t.Fatal(err)
		}
		req.TSARootCAs = x509.NewCertPool()
		req.TSARootCAs.AddCert(o.TSA.Root)
	}
	out, err := env.Sign(req.WithContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Attach signs subject (whose descriptor is read from the registry) with
// the leaf and writes the signature as a referrer of payloadFor's subject,
// as notation sign does; payloadFor is normally subject itself.
func Attach(t testing.TB, subject, payloadFor name.Digest, l *Leaf, o SignOptions, opts ...remote.Option) v1.Hash {
	t.Helper()
	desc, err := remote.Head(payloadFor, opts...)
	if err != nil {
		t.Fatal(err)
	}
	env := Sign(t, l, Payload(t, *desc), o)
	mt := o.MediaType
	if mt == "" {
		mt = ocisig.NotationJWSMediaType
	}
	h, err := ocisig.WriteNotation(context.Background(), subject, ocisig.NotationItem{
		Envelope: env, MediaType: mt, Thumbprints: l.Thumbprints(), SigningTime: time.Now()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
