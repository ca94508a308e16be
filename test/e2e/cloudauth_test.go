package e2e

import (
	"testing"

	"github.com/signet-dev/signet/test/fakecloud"
)

const cloudPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
images:
  - {name: pin-everything, match: ["**"], signature: optional}
`

// TestCloudTokenOnlyForListedRegistries is issue 21's first attack, on the
// webhook over HTTPS: a pod image on a look-alike of a listed ACR registry
// (acme.azurecr.io.evil.example) made enforce fetch an Azure AD token for
// its identity and send it to the look-alike. Every registry host is faked
// on loopback behind an HTTPS proxy (fakecloud), so nothing leaves the
// machine. The look-alike and unlisted registries get no token fetch and
// no credential, though enforce does reach them; the listed registry still
// logs in with one exchange; without the flag no registry does.
func TestCloudTokenOnlyForListedRegistries(t *testing.T) {
	dir := t.TempDir()
	az, err := fakecloud.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Close)
	policy := writePolicy(t, dir, cloudPolicy, nil)
	cert, key, caPEM := servingCert(t, dir)
	listed := launchEnforce(t, policy, cert, key, launch{env: az.Env(), args: []string{"--offline", "--acr-registries", "acme.azurecr.io"}})
	hook := webhookClient(caPEM, listed.port)

	for _, image := range []string{"acme.azurecr.io.evil.example/x:1", "mcr.microsoft.com/dotnet/runtime:8.0", "other.azurecr.io/x:1"} {
		if ok, msg, _ := hook.admit(t, image); ok {
			t.Fatalf("%s admitted from a registry that serves no image: %s", image, msg)
		}
	}
	if n := az.Tokens(); n != 0 {
		t.Errorf("%d Azure AD token requests for unlisted registries", n)
	}
	for _, host := range []string{"acme.azurecr.io.evil.example", "mcr.microsoft.com", "other.azurecr.io"} {
		c := az.Host(host)
		if c.Requests == 0 {
			t.Errorf("%s was never asked: the test did not reach the registry", host)
		}
		if c.Credentialed != 0 || c.Exchanges != 0 {
			t.Errorf("%s received credentials: %+v", host, c)
		}
	}

	if ok, msg, _ := hook.admit(t, "acme.azurecr.io/app:1"); ok {
		t.Fatalf("acme.azurecr.io/app:1 admitted from a registry that serves no image: %s", msg)
	}
	if c := az.Host("acme.azurecr.io"); az.Tokens() == 0 || c.Exchanges != 1 || c.Credentialed == 0 {
		t.Errorf("the listed registry: %d AD tokens, %+v; want a token exchanged once and used", az.Tokens(), c)
	}

	tokens := az.Tokens()
	unlisted := launchEnforce(t, policy, cert, key, launch{env: az.Env(), args: []string{"--offline"}})
	if ok, _, _ := webhookClient(caPEM, unlisted.port).admit(t, "acme.azurecr.io/app:2"); ok {
		t.Fatal("acme.azurecr.io/app:2 admitted from a registry that serves no image")
	}
	if n := az.Tokens() - tokens; n != 0 {
		t.Errorf("without --acr-registries, %d Azure AD token requests", n)
	}
}
