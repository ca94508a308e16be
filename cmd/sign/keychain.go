package main

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/google"
)

// ownKeychain is the CLI's registry identity: the Docker config (with its
// credHelpers, e.g. ECR and ACR) and Google's (Artifact Registry / GCR). Each
// keychain answers only for the registries it knows.
var ownKeychain = authn.NewMultiKeychain(authn.DefaultKeychain, google.Keychain)
