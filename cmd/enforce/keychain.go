package main

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/google"
)

// ownKeychain is the webhook's own registry identity, tried after a pod's
// pull secrets: the Docker config (including credHelpers, which is how the
// ECR and ACR helpers plug in when their binaries are in the image), then
// Google's (Artifact Registry / GCR, workload identity or ADC). Each
// keychain answers only for the registries it knows.
var ownKeychain = authn.NewMultiKeychain(authn.DefaultKeychain, google.Keychain)
