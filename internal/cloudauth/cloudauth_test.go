package cloudauth

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/test/fakecloud"
)

// azure is the fake Azure AD and ACR every test here logs in through. The
// process environment names it before any test runs: the Azure SDK and
// net/http read it once.
var azure *fakecloud.Azure

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cloudauth")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if azure, err = fakecloud.New(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, kv := range azure.Env() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	code := m.Run()
	azure.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// resolve asks kc for image's registry credentials, as a verification does.
func resolve(t *testing.T, kc authn.Keychain, image string) *authn.AuthConfig {
	t.Helper()
	repo, err := name.NewRepository(image)
	if err != nil {
		t.Fatal(err)
	}
	a, err := kc.Resolve(repo)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestACRTokenOnlyForListedRegistries is Ratify's CVE-2025-27403 class: the
// ACR helper matches hosts with an unanchored regexp, so without the host
// list a look-alike registry would get an Azure AD token of enforce's
// identity. A look-alike, an unlisted ACR and mcr.microsoft.com make no
// token request at all; a listed registry still logs in.
func TestACRTokenOnlyForListedRegistries(t *testing.T) {
	regs, err := ParseRegistries("", "", "acme.azurecr.io")
	if err != nil {
		t.Fatal(err)
	}
	kc := Keychain(regs)
	for _, image := range []string{"acme.azurecr.io.evil.example/x", "evil-acme.azurecr.io/x", "other.azurecr.io/x",
		"mcr.microsoft.com/dotnet/runtime", "acme.azurecr.io:8443/x"} {
		before := azure.Tokens()
		if cfg := resolve(t, kc, image); *cfg != (authn.AuthConfig{}) {
			t.Errorf("%s: credentials %+v for an unlisted registry", image, cfg)
		}
		if n := azure.Tokens() - before; n != 0 {
			t.Errorf("%s: %d Azure AD token requests for an unlisted registry", image, n)
		}
	}
	if c := azure.Host("acme.azurecr.io.evil.example"); c.Requests != 0 {
		t.Errorf("the look-alike host received %d requests: %+v", c.Requests, c)
	}
	before := azure.Tokens()
	cfg := resolve(t, kc, "ACME.azurecr.io/team/app")
	if cfg.IdentityToken != "acr-refresh-for-ACME.azurecr.io" || azure.Tokens()-before != 1 {
		t.Errorf("listed registry: credentials %+v after %d token requests, want its ACR refresh token after 1", cfg, azure.Tokens()-before)
	}
	if c := azure.Host("ACME.azurecr.io"); c.Exchanges != 1 {
		t.Errorf("listed registry: %d exchanges, want 1", c.Exchanges)
	}
}

// TestNoCloudIdentityByDefault: with no registries listed, no provider is
// asked about any host.
func TestNoCloudIdentityByDefault(t *testing.T) {
	regs, err := ParseRegistries("", "", "")
	if err != nil {
		t.Fatal(err)
	}
	before := azure.Tokens()
	for _, image := range []string{"acme.azurecr.io/x", "mcr.microsoft.com/x", "gcr.io/x/y", "123456789012.dkr.ecr.us-east-1.amazonaws.com/x"} {
		if cfg := resolve(t, Keychain(regs), image); *cfg != (authn.AuthConfig{}) {
			t.Errorf("%s: credentials %+v with no cloud registries listed", image, cfg)
		}
	}
	if n := azure.Tokens() - before; n != 0 {
		t.Errorf("%d Azure AD token requests with no cloud registries listed", n)
	}
}

func TestParseRegistriesRefusesBroadOrMalformedPatterns(t *testing.T) {
	for _, acr := range []string{"*.io", "*", "https://acme.azurecr.io", "acme.azurecr.io/team", "*.azurecr.*", "acme.azurecr.io:0"} {
		if _, err := ParseRegistries("", "", acr); err == nil {
			t.Errorf("acr registries %q accepted", acr)
		}
	}
	r, err := ParseRegistries("us-docker.pkg.dev, europe-docker.pkg.dev", "*.dkr.ecr.eu-west-1.amazonaws.com", "acme.azurecr.io,*.azurecr.cn")
	if err != nil || len(r.Google) != 2 || len(r.ECR) != 1 || len(r.ACR) != 2 {
		t.Fatalf("ParseRegistries: %+v, %v", r, err)
	}
}

// TestDockerConfigCredentialsOnlyForTheirHost: the Docker config's auths
// (the keychain tried first) match their host exactly: a look-alike, a
// longer name or another port gets nothing.
func TestDockerConfigCredentialsOnlyForTheirHost(t *testing.T) {
	dir := os.Getenv("DOCKER_CONFIG")
	auth := `{"auths":{"https://acme.azurecr.io/v1/":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("acr:pw")) + `"},` +
		`"registry.corp:5000":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("corp:pw")) + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(auth), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(dir, "config.json")) })
	kc := Keychain(Registries{})
	for image, user := range map[string]string{
		"acme.azurecr.io/x": "acr", "acme.azurecr.io.evil.example/x": "", "evil-acme.azurecr.io/x": "", "acme.azurecr.io:8443/x": "",
		"registry.corp:5000/x": "corp", "registry.corp/x": "", "registry.corp:50000/x": "", "registry.corp.evil.example:5000/x": "",
	} {
		if got := resolve(t, kc, image).Username; got != user {
			t.Errorf("%s: credentials of %q, want %q", image, got, user)
		}
	}
}
