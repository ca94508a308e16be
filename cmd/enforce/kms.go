package main

// KMS providers register themselves with sigstore's kms package when
// imported, so a trust file's `key: {kms: ...}` identity resolves awskms://,
// azurekms://, gcpkms:// and hashivault:// in-process. enforce is a
// long-running server that starts once per pod, so it links them (and
// internal/cloudauth's cloud keychains) rather than run sign's out-of-process
// KMS plugin (cmd/signet-kms) and ship it in its image.
import (
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
