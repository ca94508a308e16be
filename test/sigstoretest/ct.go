package sigstoretest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
)

// ctLog is a certificate transparency log that only signs SCTs: enough for
// the embedded SCT that Fulcio puts in every certificate and that cosign
// and sigstore-go check by default.
type ctLog struct {
	key   *ecdsa.PrivateKey
	logID []byte
}

var oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

func newCTLog() (*ctLog, error) {
	k, id, err := newLogKey()
	if err != nil {
		return nil, err
	}
	return &ctLog{key: k, logID: id}, nil
}

// sctExtension signs an SCT over tbs, the final certificate's TBS without
// the SCT extension (what RFC 6962 derives from the precertificate), and
// returns the SCT list extension to append last.
func (l *ctLog) sctExtension(tbs []byte, issuer *x509.Certificate, t time.Time) (pkix.Extension, error) {
	sct := ct.SignedCertificateTimestamp{
		SCTVersion: ct.V1,
		Timestamp:  uint64(t.UnixMilli()),
	}
	copy(sct.LogID.KeyID[:], l.logID)
	leaf := ct.MerkleTreeLeaf{
		Version:  ct.V1,
		LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{
			Timestamp: sct.Timestamp,
			EntryType: ct.PrecertLogEntryType,
			PrecertEntry: &ct.PreCert{
				IssuerKeyHash:  sha256.Sum256(issuer.RawSubjectPublicKeyInfo),
				TBSCertificate: tbs,
			},
		},
	}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: leaf})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("serializing SCT input: %w", err)
	}
	digest := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, l.key, digest[:])
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("signing SCT: %w", err)
	}
	sct.Signature = ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	}
	sctBytes, err := cttls.Marshal(sct)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encoding SCT: %w", err)
	}
	list, err := cttls.Marshal(ctx509.SignedCertificateTimestampList{SCTList: []ctx509.SerializedSCT{{Val: sctBytes}}})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encoding SCT list: %w", err)
	}
	val, err := asn1.Marshal(list)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidSCTList, Value: val}, nil
}
