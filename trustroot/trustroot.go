// Package trustroot loads the Sigstore trusted root a trust policy names:
// Fulcio CAs, Rekor logs, CT logs and timestamp authorities.
//
// "public-good" comes from Sigstore's TUF repository (its root of trust
// embedded in sigstore-go) and falls back to a trusted_root.json snapshot
// embedded in signet, so verification starts, and keeps working, without
// network. A long-running process keeps it current with a Refresher, which
// keeps the last good root when TUF is unreachable. Any other value is the
// path of a trusted_root.json for a private Sigstore deployment.
//
// Everything signet knows of public-good lives here: its name, its root,
// and the Fulcio and Rekor a signer uses by default.
package trustroot

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// embeddedPublicGood is the public-good trusted root as published in
// Sigstore's TUF repository (snapshot taken from sigstore/sigstore
// v1.10.8's embedded repository). It is a fallback, not the source of truth.
//
//go:embed embedded/public-good.json
var embeddedPublicGood []byte

// PublicGood is the name trust files use for the public-good instance.
const PublicGood = "public-good"

// The public-good instance's signing services, the counterpart of its
// trusted root: where a signer goes when nothing names a private instance.
const (
	PublicGoodFulcio = "https://fulcio.sigstore.dev"
	PublicGoodRekor  = "https://rekor.sigstore.dev" // Rekor v1
)

// Source says where a root came from.
type Source string

const (
	SourceTUF      Source = "tuf"
	SourceEmbedded Source = "embedded"
	SourceFile     Source = "file"
)

// Root is a loaded trusted root and where it came from.
type Root struct {
	Material *root.TrustedRoot
	// Version is the sha256 of the trusted_root.json bytes: it changes
	// whenever keys rotate, so caches keyed on it never outlive a rotation.
	Version string
	Source  Source
	// Loaded is when it was fetched or read.
	Loaded time.Time
	// Fallback, for the embedded snapshot, is why TUF could not be used
	// ("" when offline by choice).
	Fallback string
}

// Options configure a Refresher.
type Options struct {
	// Offline skips TUF and uses the embedded public-good snapshot.
	Offline bool
	// CacheDir holds the TUF cache (default: the user cache dir).
	CacheDir string
	// Timeout bounds one TUF refresh, all requests included (default 30s).
	Timeout time.Duration
	// RequestTimeout bounds each TUF request (default 10s), tried Attempts
	// times (default 3).
	RequestTimeout time.Duration
	Attempts       int
	// Mirror and TUFRoot name another TUF repository than Sigstore's
	// public-good one (a mirror, or a test): its URL and root.json.
	Mirror  string
	TUFRoot []byte
	// Now is time.Now unless a test replaces it.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// LoadFile reads a trusted_root.json.
func LoadFile(path string, now time.Time) (*Root, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading trusted root: %w", err)
	}
	return parse(data, SourceFile, path, now)
}

// Embedded returns the embedded public-good snapshot.
func Embedded() (*Root, error) {
	return parse(embeddedPublicGood, SourceEmbedded, "the embedded snapshot", time.Now())
}

func parse(data []byte, source Source, from string, now time.Time) (*Root, error) {
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing trusted root from %s: %w", from, err)
	}
	return &Root{Material: tr, Version: Version(data), Source: source, Loaded: now}, nil
}

// Version is the version of a trusted_root.json: "sha256:<hex>" of its
// bytes, the form policy.Sigstore.TrustedRootDigest uses.
func Version(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
