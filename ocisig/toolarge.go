package ocisig

import "fmt"

// TooLargeError says an attached blob (a signature payload, an
// attestation's envelope, a bundle) is larger than MaxBlobBytes. Like
// TooManyError it is an answer about the image, not a registry failure:
// retrying does not change it.
type TooLargeError struct {
	// Size is the size the descriptor announced, or -1 when the blob
	// announced less than it held.
	Size int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("blob exceeds %d bytes", MaxBlobBytes)
	}
	return fmt.Sprintf("blob is %d bytes, more than the %d signet reads", e.Size, MaxBlobBytes)
}
