package e2e

import v1 "github.com/google/go-containerregistry/pkg/v1"

type v1Hash = v1.Hash

var newHash = v1.NewHash
