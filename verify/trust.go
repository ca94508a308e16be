package verify

import (
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// Trust is the trusted material a rule's decisions are checked against:
// the Sigstore trusted root (when one of the rule's identities needs it)
// and the public key of each of its key identities (a KMS key's fetched
// from the KMS). It is resolved before evaluation (Verifier.Trust) and
// passed in, as sigstore-go's verifier takes its trusted material: Evaluate
// fetches nothing, so what it decides depends only on its inputs, and the
// decision store keys what it keeps by the material's Version.
//
// A part that could not be resolved is carried as its error: only the
// candidates that need it fail (transiently), as when it was fetched on
// demand. The zero Trust (and nil) holds nothing: enough for predicted
// evidence (sign's preflight), which nothing verifies cryptographically.
type Trust struct {
	root    *trustroot.Root
	rootErr error
	keys    map[*policy.Key]keyTrust

	// roots are the identities' own trusted roots (roots.go), resolved in
	// rootOrder.
	roots     map[policy.Sigstore]rootResult
	rootOrder []policy.Sigstore
}

// keyTrust is one key identity's material: its key as sigstore-go takes
// it and its key id, or why the key could not be had.
type keyTrust struct {
	material root.TrustedMaterial
	keyID    string
	err      error
}

// Version identifies the material: the trusted root's version, or "" when
// the rule needs no root. Decisions are kept by it (Target.Key): a new
// public-good root (a refresh) or a new file makes new keys, and every
// image it governs is verified again under it.
func (t *Trust) Version() string {
	if t == nil {
		return ""
	}
	var vs []string
	if t.root != nil {
		vs = append(vs, t.root.Version)
	}
	return strings.Join(append(vs, t.identityVersions()...), "+")
}

// Err is why a trusted root the rule needs (the policy's, or an
// identity's own) could not be loaded, or nil.
func (t *Trust) Err() error {
	if t == nil {
		return nil
	}
	return errors.Join(t.rootErr, t.identityErr())
}

// trustedRoot is the root, or why it is missing.
func (t *Trust) trustedRoot() (*trustroot.Root, error) {
	switch {
	case t == nil:
		return nil, fmt.Errorf("no trusted root resolved")
	case t.rootErr != nil:
		return nil, t.rootErr
	case t.root == nil:
		return nil, fmt.Errorf("no trusted root resolved")
	}
	return t.root, nil
}

// key is k's material.
func (t *Trust) key(k *policy.Key) keyTrust {
	if t != nil {
		if kt, ok := t.keys[k]; ok {
			return kt
		}
	}
	return keyTrust{err: fmt.Errorf("no key material resolved for key %s", cmp.Or(k.KMS, k.KeyID))}
}

// Trust resolves the material the rule governing s needs: the trusted
// root its keyless (or log-requiring key) identities are checked against,
// loaded if necessary, and the keys of its key identities. The costly
// parts are resolved once: the root by the trusted-root store (once per
// version), each KMS key once per Verifier, each key's verifier once per
// key. A subject the policy decided alone (no rule, a deny rule) or a
// pin-only rule needs nothing.
func (v *Verifier) Trust(ctx context.Context, s Subject) *Trust {
	r := s.Match.Rule
	if r == nil || r.Deny != "" || r.Signature == policy.Optional {
		return &Trust{}
	}
	if t := v.trusts.get(s.Policy, r); t != nil && v.identityRootsCurrent(ctx, t) {
		if t.root == nil {
			return t
		}
		// The root may have been refreshed since: the kept material
		// stands only while the store still hands out the same root.
		if root, err := v.trustedRoot(ctx, s.Policy); err == nil && root == t.root {
			return t
		}
	}
	t := v.resolveTrust(ctx, s.Policy, r)
	v.trusts.put(s.Policy, r, t)
	return t
}

// resolveTrust resolves r's material (Trust).
func (v *Verifier) resolveTrust(ctx context.Context, p *policy.Policy, r *policy.Rule) *Trust {
	t := &Trust{}
	ids := r.SignedBy
	if r.Provenance != nil {
		ids = append(ids[:len(ids):len(ids)], r.Provenance.SignedBy...)
	}
	needRoot := false
	for _, id := range ids {
		if id.Keyless != nil || id.Key != nil && id.Key.TransparencyLog == policy.Required {
			if sg := p.SigstoreOf(id); sg != p.Sigstore {
				v.identityRoot(ctx, t, sg)
			} else {
				needRoot = true
			}
		}
		if id.Key != nil {
			if t.keys == nil {
				t.keys = map[*policy.Key]keyTrust{}
			}
			if _, done := t.keys[id.Key]; !done {
				t.keys[id.Key] = v.keys.get(ctx, id.Key)
			}
		}
	}
	if needRoot {
		t.root, t.rootErr = v.trustedRoot(ctx, p)
	}
	return t
}

// trustMemo keeps each rule's resolved Trust for the policy in force, so
// a decision that is already kept costs no key or map work to look up.
// Only a complete resolution is kept (no part failed: a failure is asked
// again next time); a new policy starts over.
type trustMemo struct {
	cur atomic.Pointer[trustsOf]
}

type trustsOf struct {
	p *policy.Policy
	m sync.Map // *policy.Rule -> *Trust
}

func (m *trustMemo) get(p *policy.Policy, r *policy.Rule) *Trust {
	if cur := m.cur.Load(); cur != nil && cur.p == p {
		if t, ok := cur.m.Load(r); ok {
			return t.(*Trust)
		}
	}
	return nil
}

func (m *trustMemo) put(p *policy.Policy, r *policy.Rule, t *Trust) {
	if t.rootErr != nil || t.identityErr() != nil {
		return
	}
	for _, k := range t.keys {
		if k.err != nil {
			return
		}
	}
	cur := m.cur.Load()
	if cur == nil || cur.p != p {
		m.cur.CompareAndSwap(cur, &trustsOf{p: p})
		if cur = m.cur.Load(); cur.p != p {
			return
		}
	}
	cur.m.Store(r, t)
}

// trustedRoot is the trusted root in force for the policy: the current
// public-good root (which a refresher may replace at any time), or the file
// content the policy pinned.
func (v *Verifier) trustedRoot(ctx context.Context, p *policy.Policy) (*trustroot.Root, error) {
	return v.rootFor(ctx, p.Sigstore)
}

// RootVersion is the version of the trusted root p's identities need, or
// "" when none does: what the background verifier compares between
// passes to notice a rotation.
func (v *Verifier) RootVersion(ctx context.Context, p *policy.Policy) (string, error) {
	if !p.NeedsTrustedRoot() {
		return "", nil
	}
	return v.rootVersions(ctx, p)
}

// keyCache keeps each key identity's material: a KMS key's public key
// once fetched (a failure is not kept: the next resolution asks again),
// and each public key's verifier.
type keyCache struct {
	load func(ctx context.Context, uri string) (crypto.PublicKey, error)

	mu       sync.Mutex
	kms      map[string]crypto.PublicKey
	material map[string]keyTrust // by key id
}

func (c *keyCache) get(ctx context.Context, k *policy.Key) keyTrust {
	pub := k.PublicKey
	if pub == nil {
		var err error
		if pub, err = c.kmsKey(ctx, k.KMS); err != nil {
			return keyTrust{err: err}
		}
	}
	keyID := k.KeyID
	if keyID == "" {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return keyTrust{err: err}
		}
		sum := sha256.Sum256(der)
		keyID = hex.EncodeToString(sum[:])
	}
	c.mu.Lock()
	kt, ok := c.material[keyID]
	c.mu.Unlock()
	if ok {
		return kt
	}
	kt = keyTrust{keyID: keyID}
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		kt.err = fmt.Errorf("unsupported key: %w", err)
		return kt
	}
	kt.material = root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		// A key in the trust policy has no validity window of its own.
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	})
	c.mu.Lock()
	if c.material == nil {
		c.material = map[string]keyTrust{}
	}
	c.material[keyID] = kt
	c.mu.Unlock()
	return kt
}

// kmsKey resolves a KMS URI once per Verifier.
func (c *keyCache) kmsKey(ctx context.Context, uri string) (crypto.PublicKey, error) {
	c.mu.Lock()
	pub := c.kms[uri]
	c.mu.Unlock()
	if pub != nil {
		return pub, nil
	}
	pub, err := c.load(ctx, uri)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.kms == nil {
		c.kms = map[string]crypto.PublicKey{}
	}
	c.kms[uri] = pub
	c.mu.Unlock()
	return pub, nil
}

// loadKMSKey resolves a KMS URI through sigstore's KMS registry. Providers
// register themselves when imported (cmd/sign and cmd/enforce import them).
func loadKMSKey(ctx context.Context, uri string) (crypto.PublicKey, error) {
	sv, err := kms.Get(ctx, uri, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading KMS key %s: %w", uri, err)
	}
	return sv.PublicKey()
}
