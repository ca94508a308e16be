package sigstoretest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/digitorus/timestamp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/tlog"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// checkSET parses the cosign bundle annotation the way cosign does and
// verifies its SET against the trusted root's Rekor key.
func checkSET(t *testing.T, ss *Sigstore, l ocisig.Legacy, wantKind string) *tlog.Entry {
	t.Helper()
	var rb struct {
		SignedEntryTimestamp []byte
		Payload              struct {
			Body           string `json:"body"`
			IntegratedTime int64  `json:"integratedTime"`
			LogIndex       int64  `json:"logIndex"`
			LogID          string `json:"logID"`
		}
	}
	if err := json.Unmarshal(l.RekorBundle, &rb); err != nil {
		t.Fatalf("rekor bundle: %v", err)
	}
	if rb.Payload.LogID != ss.RekorLogID() {
		t.Errorf("logID = %s, want %s", rb.Payload.LogID, ss.RekorLogID())
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := hex.DecodeString(rb.Payload.LogID)
	e, err := tlog.NewEntry(body, rb.Payload.IntegratedTime, rb.Payload.LogIndex, id, rb.SignedEntryTimestamp, nil) //lint:ignore SA1019 cosign v2 writes Rekor v1 entries, which NewEntry parses
	if err != nil {
		t.Fatalf("parsing rekor entry: %v", err)
	}
	if err := tlog.VerifySET(e, ss.TrustedRoot().RekorLogs()); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if e.TransparencyLogEntry().GetCanonicalizedBody() == nil || !bytes.Contains(body, []byte(`"kind":"`+wantKind+`"`)) {
		t.Errorf("entry kind: want %s in %s", wantKind, body)
	}
	return e
}

func leafOf(t *testing.T, ss *Sigstore, l ocisig.Legacy) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(l.Certificate)
	if blk == nil {
		t.Fatal("no certificate PEM")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	inter := x509.NewCertPool()
	for rest := l.Chain; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, _ := x509.ParseCertificate(b.Bytes)
		inter.AddCert(c)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ss.FulcioRoot())
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, CurrentTime: cert.NotBefore}); err != nil {
		t.Fatalf("chain: %v", err)
	}
	return cert
}

func TestSignLegacy(t *testing.T) {
	ss := newSigstore(t)
	ref, err := name.NewDigest("ghcr.io/acme/app@sha256:" + testDigest().Hex)
	if err != nil {
		t.Fatal(err)
	}
	payload := SimpleSigning(ref)
	want := `{"critical":{"identity":{"docker-reference":"ghcr.io/acme/app"},"image":{"docker-manifest-digest":"sha256:` +
		testDigest().Hex + `"},"type":"cosign container image signature"},"optional":null}`
	if string(payload) != want {
		t.Fatalf("simple signing payload:\n%s\nwant\n%s", payload, want)
	}
	s, err := ss.Signer(GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main"), WithTimestamp())
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.SignLegacy(payload)
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != ocisig.KindSignature || l.MediaType != ocisig.SimpleSigningMediaType || !bytes.Equal(l.Payload, payload) {
		t.Fatalf("unexpected legacy shape: %+v", l)
	}
	cert := leafOf(t, ss, l)
	sig, _ := base64.StdEncoding.DecodeString(l.Signature)
	h := sha256.Sum256(payload)
	if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), h[:], sig) {
		t.Fatal("signature does not verify with the certificate key")
	}
	e := checkSET(t, ss, l, "hashedrekord")
	if !bytes.Equal(e.Signature(), sig) {
		t.Error("rekor entry records another signature")
	}
	if d, _, ok := e.GetHashedRekordDigest(); !ok || !bytes.Equal(d, h[:]) {
		t.Error("rekor entry records another payload digest")
	}
	var ts struct{ SignedRFC3161Timestamp []byte }
	if err := json.Unmarshal(l.RFC3161, &ts); err != nil {
		t.Fatal(err)
	}
	tsr, err := timestamp.ParseResponse(ts.SignedRFC3161Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	sh := sha256.Sum256(sig)
	if !bytes.Equal(tsr.HashedMessage, sh[:]) {
		t.Error("timestamp is not over the signature bytes")
	}
}

func TestAttestLegacy(t *testing.T) {
	ss := newSigstore(t)
	id := GitLab("acme/platform", "refs/heads/main")
	s, err := ss.Signer(id, WithTimestamp())
	if err != nil {
		t.Fatal(err)
	}
	st := Statement(testDigest(), policy.SLSAProvenanceV1, map[string]any{"buildDefinition": map[string]any{}})
	l, err := s.AttestLegacy(st, policy.SLSAProvenanceV1)
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != ocisig.KindAttestation || l.MediaType != ocisig.DSSEMediaType || l.PredicateType != policy.SLSAProvenanceV1 || l.Signature != "" {
		t.Fatalf("unexpected legacy shape: %+v", l)
	}
	var env dsse.Envelope
	if err := json.Unmarshal(l.Payload, &env); err != nil {
		t.Fatal(err)
	}
	got, _ := base64.StdEncoding.DecodeString(env.Payload)
	if env.PayloadType != ocisig.InTotoPayloadType || !bytes.Equal(got, st) {
		t.Fatalf("envelope: %+v", env)
	}
	sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	h := sha256.Sum256(dsse.PAE(env.PayloadType, got))
	if !ecdsa.VerifyASN1(leafOf(t, ss, l).PublicKey.(*ecdsa.PublicKey), h[:], sig) {
		t.Fatal("DSSE signature does not verify")
	}
	checkSET(t, ss, l, "intoto")
}

func TestLegacyWithoutTlogAndKeySigner(t *testing.T) {
	ss := newSigstore(t)
	ks, err := ss.KeySigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ks.SignLegacy([]byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Certificate != nil || l.Chain != nil {
		t.Error("key signature carries a certificate")
	}
	e := checkSET(t, ss, l, "hashedrekord")
	if _, ok := e.PublicKey().(*ecdsa.PublicKey); !ok {
		t.Errorf("rekor entry verifier is %T, want the public key", e.PublicKey())
	}
	ns, _ := ss.Signer(GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main"), WithoutTlog())
	l, err = ns.SignLegacy([]byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if l.RekorBundle != nil || l.RFC3161 != nil {
		t.Error("WithoutTlog still produced a rekor bundle")
	}
}
