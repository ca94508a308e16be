package sign

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"

	"github.com/signet-dev/signet/ocisig"
)

// legacyMaterial fills the certificate, chain, Rekor bundle and RFC 3161
// annotations of a legacy layer from a signed bundle. Only Rekor v1 entries
// (they carry a signed entry timestamp) can be expressed in cosign's
// annotation; a Rekor v2 entry stays in the bundle layout only.
func (s *Session) legacyMaterial(l *ocisig.Legacy, b *protobundle.Bundle) error {
	vm := b.GetVerificationMaterial()
	if c := vm.GetCertificate(); c != nil {
		l.Certificate = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.GetRawBytes()})
		for _, der := range s.fulcio.Chain() {
			l.Chain = append(l.Chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
		}
	}
	for _, e := range vm.GetTlogEntries() {
		set := e.GetInclusionPromise().GetSignedEntryTimestamp()
		if len(set) == 0 {
			continue
		}
		var rb ocisig.RekorBundle
		rb.SignedEntryTimestamp = set
		rb.Payload.Body = base64.StdEncoding.EncodeToString(e.GetCanonicalizedBody())
		rb.Payload.IntegratedTime = e.GetIntegratedTime()
		rb.Payload.LogIndex = e.GetLogIndex()
		rb.Payload.LogID = hex.EncodeToString(e.GetLogId().GetKeyId())
		raw, err := json.Marshal(rb)
		if err != nil {
			return err
		}
		l.RekorBundle = raw
		break
	}
	if ts := vm.GetTimestampVerificationData().GetRfc3161Timestamps(); len(ts) > 0 && l.Kind == ocisig.KindSignature {
		raw, err := rfc3161Annotation(ts[0].GetSignedTimestamp())
		if err != nil {
			return err
		}
		l.RFC3161 = raw
	}
	return nil
}

func rfc3161Annotation(der []byte) ([]byte, error) {
	return json.Marshal(ocisig.RFC3161Timestamp{SignedRFC3161Timestamp: der})
}
