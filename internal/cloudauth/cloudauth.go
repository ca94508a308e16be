// Package cloudauth is the registry identity enforce uses for itself (as
// opposed to a pod's pull secrets): the Docker config with its credHelpers,
// then the cloud providers' workload identities — Google (Artifact Registry /
// GCR), AWS ECR and Azure ACR — linked in as libraries the way k8schain does,
// so no helper binary is needed in the image. sign does not use it (it uses
// the Docker config alone): these SDKs' inits would run on every sign command.
package cloudauth

import (
	"io"

	ecr "github.com/awslabs/amazon-ecr-credential-helper/ecr-login"
	"github.com/chrismellard/docker-credential-acr-env/pkg/credhelper"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/google"
)

// Keychain answers each registry with the first source that knows it; every
// cloud keychain answers only for its provider's registries (anonymous
// elsewhere), so no credential reaches a registry it does not belong to.
var Keychain = authn.NewMultiKeychain(
	authn.DefaultKeychain,
	google.Keychain,
	authn.NewKeychainFromHelper(ecr.NewECRHelper(ecr.WithLogger(io.Discard))),
	authn.NewKeychainFromHelper(credhelper.NewACRCredentialsHelper()),
)
