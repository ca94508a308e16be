package main

import (
	"io"

	ecr "github.com/awslabs/amazon-ecr-credential-helper/ecr-login"
	"github.com/chrismellard/docker-credential-acr-env/pkg/credhelper"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/google"
)

// ownKeychain is the webhook's own registry identity, tried after a pod's
// pull secrets: the Docker config (with its credHelpers), then the cloud
// providers' workload identities: Google (Artifact Registry / GCR), AWS ECR
// and Azure ACR, linked in as libraries the way k8schain does. Each keychain
// answers only for the registries it knows.
var ownKeychain = authn.NewMultiKeychain(
	authn.DefaultKeychain,
	google.Keychain,
	authn.NewKeychainFromHelper(ecr.NewECRHelper(ecr.WithLogger(io.Discard))),
	authn.NewKeychainFromHelper(credhelper.NewACRCredentialsHelper()),
)
