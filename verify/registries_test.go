package verify

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
)

// TestMirroredImageIsDecidedByItsOwnName: an image whose host is mirrored
// (WithRegistries) is read from the mirror with the mirror's credentials,
// never with those the keychain holds for the name in the reference, and
// decided and pinned under that name: the rule that matches it, and the
// reference the workload will run.
func TestMirroredImageIsDecidedByItsOwnName(t *testing.T) {
	var mu sync.Mutex
	var sent []string
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		mu.Lock()
		sent = append(sent, u+":"+p)
		mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="mirror"`)
			http.Error(w, "credentials", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	mirror := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(64, 1)
	dst, _ := name.ParseReference(mirror + "/vendor/db:7")
	if err := remote.Write(dst, img, remote.WithAuth(&authn.Basic{Username: "mirror", Password: "m"})); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	regs, err := regclient.ParseRegistries([]byte("registries: [{host: upstream.signet.test, mirror: 'http://"+mirror+"', plainHTTP: true}]"), "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse([]byte("apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages:\n- {name: vendor, match: ['upstream.signet.test/vendor/**'], signature: optional}\n- {name: rest, match: ['**'], deny: no}\n"))
	if err != nil {
		t.Fatal(err)
	}
	kc := hostKeychain{"upstream.signet.test": {Username: "upstream", Password: "u"}, mirror: {Username: "mirror", Password: "m"}}
	v := New(WithRegistry(regclient.New(regclient.WithRegistries(regs))), WithKeychain(kc), WithOffline())
	d := v.Verify(t.Context(), "upstream.signet.test/vendor/db:7", p)
	if !d.Allowed || d.Digest != want.String() {
		t.Fatalf("decision %+v (%v), want allowed at %s", d, d.Messages(), want)
	}
	if d.Rule == nil || d.Rule.Name != "vendor" || d.Pinned != "upstream.signet.test/vendor/db:7@"+want.String() {
		t.Errorf("decided by %+v pinned to %s, want rule vendor and the workload's name", d.Rule, d.Pinned)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range sent {
		if s != "mirror:m" && s != ":" {
			t.Errorf("the mirror received credentials %q: only its own may be sent", s)
		}
	}
}

type hostKeychain map[string]authn.AuthConfig

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if c, ok := k[r.RegistryStr()]; ok {
		return authn.FromConfig(c), nil
	}
	return authn.Anonymous, nil
}
