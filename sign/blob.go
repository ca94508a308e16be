package sign

import (
	"context"
	"fmt"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// SignBlob signs arbitrary bytes (a release's checksum file) into a Sigstore
// bundle v0.3 in JSON, with the session's key or Fulcio certificate, its
// transparency logs and timestamp authorities: what `cosign verify-blob
// --bundle` and sigstore-go verify.
func (s *Session) SignBlob(ctx context.Context, data []byte) ([]byte, error) {
	b, err := s.bundle(ctx, &sgsign.PlainData{Data: data}, s.tlogs)
	if err != nil {
		return nil, fmt.Errorf("signing blob: %w", err)
	}
	return protojson.Marshal(b)
}
