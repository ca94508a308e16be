// Package cloudauth is the registry identity enforce uses for itself (as
// opposed to a pod's pull secrets): the Docker config with its credHelpers,
// then the cloud providers' workload identities — Google (Artifact Registry /
// GCR), AWS ECR and Azure ACR — linked in as libraries the way k8schain does,
// so no helper binary is needed in the image. sign does not use it (it uses
// the Docker config alone): these SDKs' inits would run on every sign command.
//
// A cloud identity is only ever used for the registry hosts the operator
// lists for its provider (Registries); none by default. The providers' own
// host checks are not enough: the ACR helper matches hosts with the
// unanchored `.*\.azurecr\.io`, so an image on acme.azurecr.io.evil.example
// would make it fetch an Azure AD token for enforce's identity and send it
// to that host (Ratify's CVE-2025-27403), and it answers for every
// mcr.microsoft.com image too.
package cloudauth

import (
	"context"
	"fmt"
	"io"
	"strings"

	ecr "github.com/awslabs/amazon-ecr-credential-helper/ecr-login"
	"github.com/chrismellard/docker-credential-acr-env/pkg/credhelper"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/google"

	"github.com/signet-dev/signet/regclient"
)

// Registries are, per cloud provider, the registry hosts enforce may
// authenticate to with that provider's workload identity. A host no list
// names never triggers a token fetch.
type Registries struct {
	Google, ECR, ACR []regclient.HostPattern
}

// ParseRegistries reads each provider's comma-separated list of host
// patterns (regclient.HostPattern: "acme.azurecr.io,*.azurecr.cn"). A wildcard
// must stand under a domain of at least two labels: "*.io" would hand the
// identity's token to anyone who registers a name under .io.
func ParseRegistries(google, ecr, acr string) (Registries, error) {
	var r Registries
	var err error
	if r.Google, err = parseHosts("google", google); err != nil {
		return r, err
	}
	if r.ECR, err = parseHosts("ecr", ecr); err != nil {
		return r, err
	}
	r.ACR, err = parseHosts("acr", acr)
	return r, err
}

func parseHosts(provider, list string) ([]regclient.HostPattern, error) {
	var out []regclient.HostPattern
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := regclient.ParseHostPattern(s)
		if err != nil {
			return nil, fmt.Errorf("%s registries: %w", provider, err)
		}
		if p.Wildcard() && !strings.Contains(p.Domain(), ".") {
			return nil, fmt.Errorf("%s registries: %q would send the cloud token to any host under .%s; name the registry domain (e.g. *.azurecr.io)", provider, s, p.Domain())
		}
		out = append(out, p)
	}
	return out, nil
}

// Keychain answers each registry with the first source that knows it: the
// Docker config, then the cloud keychain whose provider lists the host.
func Keychain(r Registries) authn.Keychain {
	return authn.NewMultiKeychain(
		authn.DefaultKeychain,
		only(r.Google, google.Keychain),
		only(r.ECR, authn.NewKeychainFromHelper(ecr.NewECRHelper(ecr.WithLogger(io.Discard)))),
		only(r.ACR, authn.NewKeychainFromHelper(credhelper.NewACRCredentialsHelper())),
	)
}

// hostScoped asks its keychain only about the listed hosts; every other
// registry is anonymous to it, and the keychain is never called.
type hostScoped struct {
	hosts []regclient.HostPattern
	kc    authn.Keychain
}

func only(hosts []regclient.HostPattern, kc authn.Keychain) authn.Keychain {
	return hostScoped{hosts: hosts, kc: kc}
}

func (s hostScoped) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return s.ResolveContext(context.Background(), target)
}

// ResolveContext implements authn.ContextKeychain.
func (s hostScoped) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	if !regclient.MatchAny(s.hosts, target.RegistryStr()) {
		return authn.Anonymous, nil
	}
	return authn.Resolve(ctx, s.kc, target)
}
