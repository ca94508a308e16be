package enforce

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
)

func dockerConfigSecret(name, json string) *corev1.Secret {
	s := &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(json)}}
	s.Name = name
	return s
}

// TestPullSecretCredentialsOnlyGoToTheirRegistry is the security property:
// a credential is never sent to a registry its entry does not name.
func TestPullSecretCredentialsOnlyGoToTheirRegistry(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("bob:hunter2"))
	kc, err := newPullSecretKeychain([]*corev1.Secret{
		dockerConfigSecret("a", `{"auths":{
			"ghcr.io/acme": {"username":"acme","password":"acme-pw"},
			"registry.example.com:5000": {"auth":"`+auth+`"},
			"*.internal.example": {"username":"wild","password":"wild-pw"},
			"https://index.docker.io/v1/": {"username":"hub","password":"hub-pw"},
			"acme.azurecr.io": {"username":"acr","password":"acr-pw"},
			"*": {"username":"any","password":"any-pw"}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		repo, user string // "" user: anonymous
	}{
		{"ghcr.io/acme/app", "acme"},
		{"ghcr.io/acme/team/app", "acme"},
		{"ghcr.io/acme-evil/app", ""},
		{"ghcr.io/other/app", ""},
		{"evil.ghcr.io/acme/app", ""},
		{"registry.example.com:5000/x", "bob"},
		{"registry.example.com/x", ""},
		{"registry.example.com:5001/x", ""},
		{"a.internal.example/x", "wild"},
		{"a.b.internal.example/x", ""},
		{"internal.example/x", ""},
		{"docker.io/library/nginx", "hub"},
		{"nginx", "hub"},
		{"index.docker.io.evil.example/x", ""},
		// Hosts compare as the runtime dials them, never as strings,
		// prefixes or suffixes: a look-alike or another port gets nothing.
		{"acme.azurecr.io/x", "acr"},
		{"ACME.azurecr.io.:0443/x", "acr"},
		{"acme.azurecr.io.evil.example/x", ""},
		{"evil-acme.azurecr.io/x", ""},
		{"acme.azurecr.io:8443/x", ""},
		{"registry.example.com:05000/x", "bob"},
		{"registry.example.com:0443/x", ""},
		{"a.internal.example:443/x", "wild"},
		{"a.internal.example:5000/x", ""},
		{"a.internal.example.evil.example/x", ""},
		{"anything.example/x", ""}, // a "*" key names no registry
	}
	for _, c := range cases {
		repo, err := name.NewRepository(c.repo)
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
		if cfg.Username != c.user {
			t.Errorf("%s: credential of %q, want %q", c.repo, cfg.Username, c.user)
		}
		if c.user == "" && a != authn.Anonymous {
			t.Errorf("%s: not anonymous", c.repo)
		}
	}
}

func TestPullSecretMalformedIsAnError(t *testing.T) {
	if _, err := newPullSecretKeychain([]*corev1.Secret{dockerConfigSecret("bad", `{"auths":{"x":{"auth":"%%%"}}}`)}); err == nil {
		t.Fatal("malformed auth accepted")
	}
	if _, err := newPullSecretKeychain([]*corev1.Secret{dockerConfigSecret("bad", `not json`)}); err == nil {
		t.Fatal("malformed secret accepted")
	}
}
