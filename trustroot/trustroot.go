// Package trustroot loads the Sigstore trusted root a trust policy names:
// Fulcio CAs, Rekor logs, CT logs and timestamp authorities.
//
// "public-good" is refreshed through Sigstore's TUF repository (its root of
// trust embedded in sigstore-go) and falls back to a trusted_root.json
// snapshot embedded in signet, so verification starts, and keeps working,
// without network. Any other value is the path of a trusted_root.json for a
// private Sigstore deployment.
package trustroot

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// embeddedPublicGood is the public-good trusted root as published in
// Sigstore's TUF repository (snapshot taken from sigstore/sigstore
// v1.10.8's embedded repository). It is a fallback, not the source of truth.
//
//go:embed embedded/public-good.json
var embeddedPublicGood []byte

// PublicGood is the name trust files use for the public-good instance.
const PublicGood = "public-good"

// Root is a loaded trusted root and where it came from.
type Root struct {
	Material *root.TrustedRoot
	// Version is the sha256 of the trusted_root.json bytes: it changes
	// whenever keys rotate, so caches keyed on it never outlive a rotation.
	Version string
	// Source says where it came from ("tuf", "embedded snapshot", a path).
	Source string
}

// Options configure Load.
type Options struct {
	// Offline skips the TUF refresh and uses the embedded public-good snapshot.
	Offline bool
	// CacheDir holds the TUF cache (default: the user cache dir).
	CacheDir string
	// Timeout bounds the TUF refresh (default 10s).
	Timeout time.Duration
}

// Load returns the trusted root named by spec ("public-good" or a path).
func Load(ctx context.Context, spec string, o Options) (*Root, error) {
	if spec != PublicGood && spec != "" {
		data, err := os.ReadFile(spec)
		if err != nil {
			return nil, fmt.Errorf("reading trusted root: %w", err)
		}
		return parse(data, spec)
	}
	if o.Offline {
		return parse(embeddedPublicGood, "embedded snapshot")
	}
	data, err := fetchTUF(ctx, o)
	if err != nil {
		r, perr := parse(embeddedPublicGood, "embedded snapshot (TUF refresh failed: "+err.Error()+")")
		if perr != nil {
			return nil, perr
		}
		return r, nil
	}
	return parse(data, "tuf")
}

// Embedded returns the embedded public-good snapshot.
func Embedded() (*Root, error) { return parse(embeddedPublicGood, "embedded snapshot") }

func parse(data []byte, source string) (*Root, error) {
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing trusted root from %s: %w", source, err)
	}
	sum := sha256.Sum256(data)
	return &Root{Material: tr, Version: "sha256:" + hex.EncodeToString(sum[:]), Source: source}, nil
}

func fetchTUF(ctx context.Context, o Options) ([]byte, error) {
	opts := tuf.DefaultOptions()
	dir := o.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "signet", "tuf")
	}
	opts.CachePath = dir
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// The TUF client has no context parameter; bound it from outside.
		c, err := tuf.New(opts)
		if err != nil {
			ch <- result{err: err}
			return
		}
		data, err := c.GetTarget("trusted_root.json")
		ch <- result{data, err}
	}()
	select {
	case r := <-ch:
		return r.data, r.err
	case <-time.After(timeout):
		return nil, fmt.Errorf("timed out after %s", timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
