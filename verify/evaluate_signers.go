package verify

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/policy"
)

// A rule's threshold counts signers, not signatures and not identity names.
// A signer is who holds the signing capability:
//
//   - for a key signature, the public key (the sha256 of its PKIX DER, so a
//     key written inline, in a file or behind a KMS URI is one signer);
//   - for a keyless signature, the certificate's OIDC issuer, its subject
//     (SAN: the workflow file and ref that signed) and its Source Repository
//     URI (which tells apart the callers of one shared reusable workflow).
//     Two certificates with the same three are one signer: the same workflow
//     signing twice, or one certificate copied into both layouts;
//   - for a Notation signature, the trust anchor its chain reached and the
//     signing certificate's subject (a renewed certificate is the same
//     signer). A Notation and a Sigstore signature are never one signer.
//
// Each signer counts toward at most one identity of the rule and each
// identity toward the threshold at most once: the threshold is met when a
// matching of that many distinct signers to distinct identities exists.
type signerKey string

func keySigner(keyID string) signerKey { return signerKey("key:" + keyID) }

func certSigner(c certificate.Summary) signerKey {
	return signerKey("cert:" + c.Issuer + "\x00" + c.SubjectAlternativeName + "\x00" + c.SourceRepositoryURI)
}

// x509Signer is a Notation signer: the trust anchor its chain reached and
// its leaf's subject. Certificates renewed for the same subject under the
// same anchor are one signer; so is one certificate signing twice.
func x509Signer(anchorFingerprint string, leaf *x509.Certificate) signerKey {
	return signerKey("x509:" + anchorFingerprint + "\x00" + string(leaf.RawSubject))
}

// signerTally collects, per signer, the identities its verified signatures
// satisfied, in the order signers were first seen.
type signerTally struct {
	order []signerKey
	by    map[signerKey]*signerEntry
}

type signerEntry struct {
	desc string
	// sats maps an identity (by its index in the rule's signedBy) to the
	// first signature of this signer that satisfied it.
	sats map[int]SignatureResult
}

func (t *signerTally) add(ids []*policy.Identity, m match) {
	if t.by == nil {
		t.by = map[signerKey]*signerEntry{}
	}
	e := t.by[m.signer]
	if e == nil {
		e = &signerEntry{desc: m.sig.who(), sats: map[int]SignatureResult{}}
		t.by[m.signer] = e
		t.order = append(t.order, m.signer)
	}
	i := slices.Index(ids, m.identity)
	if _, ok := e.sats[i]; !ok && i >= 0 {
		e.sats[i] = m.sig
	}
}

// assign returns a maximum matching of signers to identities, as the
// signature each counted signer contributes (at most one per signer, one
// per identity), in the order signers were first seen. Augmenting paths
// (Kuhn): a greedy choice could let a signer take the only identity another
// signer satisfies.
func (t *signerTally) assign(nIdentities int) []SignatureResult {
	owner := make([]int, nIdentities) // identity -> signer index+1, 0: free
	var try func(s int, seen []bool) bool
	try = func(s int, seen []bool) bool {
		for _, i := range sortedKeys(t.by[t.order[s]].sats) {
			if seen[i] {
				continue
			}
			seen[i] = true
			if owner[i] == 0 || try(owner[i]-1, seen) {
				owner[i] = s + 1
				return true
			}
		}
		return false
	}
	for s := range t.order {
		try(s, make([]bool, nIdentities))
	}
	bySigner := make([]int, len(t.order))
	for i, s := range owner {
		if s != 0 {
			bySigner[s-1] = i + 1
		}
	}
	var out []SignatureResult
	for s, i := range bySigner {
		if i != 0 {
			out = append(out, t.by[t.order[s]].sats[i-1])
		}
	}
	return out
}

// describe lists each signer and the identities it satisfied, for a
// threshold denial.
func (t *signerTally) describe(ids []*policy.Identity) string {
	parts := make([]string, 0, len(t.order))
	for _, k := range t.order {
		e := t.by[k]
		var names []string
		for _, i := range sortedKeys(e.sats) {
			names = append(names, ids[i].Name)
		}
		parts = append(parts, fmt.Sprintf("%s satisfies [%s]", e.desc, strings.Join(names, ", ")))
	}
	return strings.Join(parts, "; ")
}

func sortedKeys(m map[int]SignatureResult) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
