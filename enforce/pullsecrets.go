package enforce

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
)

// pullSecretKeychain serves credentials from Kubernetes image pull secrets
// (kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg). A credential
// is only ever returned for the registry its entry names: hosts match as
// regclient.HostPattern does (the host as the runtime dials it, port
// included; "*.example.com" is one whole DNS label), and an entry with a
// path ("registry.example.com/team") matches only repositories under that
// path, segment by segment. Docker Hub's aliases are one host. An entry
// whose key names no registry host matches nothing.
type pullSecretKeychain struct {
	entries []credEntry
}

type credEntry struct {
	host  regclient.HostPattern
	valid bool   // the key named a registry host
	path  string // optional repository path prefix
	auth  authn.AuthConfig
}

// newPullSecretKeychain parses secrets in order: the first matching entry wins,
// like the kubelet.
func newPullSecretKeychain(secrets []*corev1.Secret) (*pullSecretKeychain, error) {
	kc := &pullSecretKeychain{}
	for _, s := range secrets {
		var auths map[string]dockerAuth
		switch s.Type {
		case corev1.SecretTypeDockerConfigJson:
			var cfg struct {
				Auths map[string]dockerAuth `json:"auths"`
			}
			if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
				return nil, fmt.Errorf("pull secret %s/%s: %w", s.Namespace, s.Name, err)
			}
			auths = cfg.Auths
		case corev1.SecretTypeDockercfg:
			if err := json.Unmarshal(s.Data[corev1.DockerConfigKey], &auths); err != nil {
				return nil, fmt.Errorf("pull secret %s/%s: %w", s.Namespace, s.Name, err)
			}
		default:
			continue
		}
		for key, a := range auths {
			e, err := parseCredEntry(key, a)
			if err != nil {
				return nil, fmt.Errorf("pull secret %s/%s: %w", s.Namespace, s.Name, err)
			}
			kc.entries = append(kc.entries, e)
		}
	}
	return kc, nil
}

type dockerAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

func parseCredEntry(key string, a dockerAuth) (credEntry, error) {
	k := strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	host, path, _ := strings.Cut(k, "/")
	e := credEntry{path: strings.Trim(path, "/"), auth: authn.AuthConfig{Username: a.Username, Password: a.Password}}
	if hp, err := regclient.ParseHostPattern(host); err == nil {
		e.host, e.valid = hp, true
	}
	if e.host.String() == policy.DockerHub && e.path == "v1" {
		e.path = "" // "https://index.docker.io/v1/" is Docker Hub itself
	}
	if a.Auth != "" && e.auth.Username == "" {
		dec, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			return e, fmt.Errorf("entry %q: auth is not base64", key)
		}
		u, p, ok := strings.Cut(string(dec), ":")
		if !ok {
			return e, fmt.Errorf("entry %q: auth is not user:password", key)
		}
		e.auth.Username, e.auth.Password = u, p
	}
	return e, nil
}

// Resolve implements authn.Keychain for a registry or a repository.
func (kc *pullSecretKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host := target.RegistryStr()
	repo := ""
	if r, ok := target.(interface{ RepositoryStr() string }); ok {
		repo = r.RepositoryStr()
	}
	for _, e := range kc.entries {
		if e.matches(host, repo) {
			return authn.FromConfig(e.auth), nil
		}
	}
	return authn.Anonymous, nil
}

func (e credEntry) matches(host, repo string) bool {
	if !e.valid || !e.host.Match(host) {
		return false
	}
	if e.path == "" {
		return true
	}
	return repo == e.path || strings.HasPrefix(repo, e.path+"/")
}
