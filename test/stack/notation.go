package stack

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ToolNotation is the Notary Project's notation CLI, the interop arbiter of
// signet's Notation signatures as the cosign CLIs are of its Sigstore ones.
// `go install notation@v1.3.2` fails here (the proxy refuses the module's
// version list, which install reads for deprecations), so it is built from
// a throwaway module that requires it; the module has no replace directives.
var ToolNotation = Tool{Name: "notation", Module: notationModule, Version: "v1.3.2", Package: notationModule + "/cmd/notation",
	throwawayModule: requireModule(notationModule, "v1.3.2")}

const notationModule = "github.com/notaryproject/notation"

// NotationCLI returns the path of the notation v1.3.2 CLI, building it on first use.
func NotationCLI(t testing.TB) string { return ensureTool(t, ToolNotation) }

// NotationHome is a private notation configuration: its trust store, trust
// policy and signing keys live under a temp dir (XDG_CONFIG_HOME), never in
// the user's ~/.config/notation, and it reaches nothing beyond loopback.
type NotationHome struct {
	bin string
	// Dir is notation's configuration directory (truststore/, the trust
	// policy, signingkeys.json), as `notation` reads it.
	Dir  string
	env  []string
	keys []notationKey
}

// notationKey is one entry of notation's signingkeys.json: a key file and
// its certificate chain file (the layout of notation-go's config.KeySuite).
type notationKey struct {
	Name     string `json:"name"`
	KeyPath  string `json:"keyPath"`
	CertPath string `json:"certPath"`
}

// NewNotationHome makes an empty configuration for the CLI at bin.
func NewNotationHome(t testing.TB, bin string) *NotationHome {
	home := t.TempDir()
	return &NotationHome{bin: bin, Dir: filepath.Join(home, "config", "notation"), env: []string{
		"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"DOCKER_CONFIG=" + filepath.Join(home, "docker"), "PATH=/usr/bin:/bin", "TMPDIR=" + home,
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}}
}

// Run runs notation with args in this configuration and returns its
// combined output; the error carries it too.
func (h *NotationHome) Run(ctx context.Context, args ...string) (string, error) {
	return runCLI(ctx, h.bin, h.env, args...)
}

func (h *NotationHome) runT(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := h.Run(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// AddCert adds the PEM certificate file to the trust store typ (ca,
// signingAuthority or tsa) named store, with `notation cert add`.
func (h *NotationHome) AddCert(t testing.TB, typ, store, certPath string) {
	t.Helper()
	h.runT(t, "cert", "add", "--type", typ, "--store", store, certPath)
}

// TrustPolicyPath is the trust policy notation reads: trustpolicy.json in
// v1.3 (the Notary Project's later specifications name the OCI policy
// trustpolicy.oci.json).
func (h *NotationHome) TrustPolicyPath() string { return filepath.Join(h.Dir, "trustpolicy.json") }

// ImportPolicy makes doc (a trustpolicy.oci.json) the trust policy, with
// `notation policy import`.
func (h *NotationHome) ImportPolicy(t testing.TB, doc []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trustpolicy.oci.json")
	if err := os.WriteFile(p, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	h.runT(t, "policy", "import", "--force", p)
}

// AddKey adds a signing key named name: a PEM private key file and its PEM
// chain, leaf first. `notation key add` only adds plugin keys; a file key
// is an entry of signingkeys.json, which this writes.
func (h *NotationHome) AddKey(t testing.TB, name, keyPath, certPath string) {
	t.Helper()
	h.keys = append(h.keys, notationKey{Name: name, KeyPath: keyPath, CertPath: certPath})
	b, err := json.MarshalIndent(map[string]any{"keys": h.keys}, "", "  ")
	if err == nil {
		err = os.MkdirAll(h.Dir, 0o700)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(h.Dir, "signingkeys.json"), b, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Sign signs ref (a digest reference in this stack's plain-HTTP
// registry) with the named key; args add flags (--signature-format cose,
// --timestamp-url, ...).
func (h *NotationHome) Sign(t testing.TB, ref, key string, args ...string) string {
	t.Helper()
	return h.runT(t, append(append([]string{"sign", "--insecure-registry", "--key", key}, args...), ref)...)
}

// Verify runs `notation verify --verbose` on ref in this stack's
// plain-HTTP registry: the output names each signature's failure.
func (h *NotationHome) Verify(ctx context.Context, ref string) (string, error) {
	return h.Run(ctx, "verify", "--insecure-registry", "--verbose", ref)
}
