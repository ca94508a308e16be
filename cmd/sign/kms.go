package main

// KMS providers register themselves with sigstore's kms package when
// imported, so a `key: {kms: ...}` identity (and, for sign, --key with a
// KMS URI) resolves awskms://, azurekms://, gcpkms:// and hashivault://.
import (
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
