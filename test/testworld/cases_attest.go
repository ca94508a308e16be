package testworld

import (
	"fmt"
	"strings"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
)

// attestationCases are the rows for rules that require attestations with
// CEL conditions (rule "attested": a vulnerability scan younger than an
// hour without a critical finding, and a CycloneDX SBOM without a denied
// package; rule "costly": a condition quadratic in its predicate).
var attestationCases = []Case{
	{Name: "signed image with a recent clean scan and an SBOM is allowed", Allow: true,
		Setup: func(w *World, l ocisig.Layout) string {
			return attested(w, l, "clean", w.release(), TrivyScan("HIGH", "LOW"), CycloneDXBOM("openssl", "zlib"))
		}},
	{Name: "image without the required scan attestation is denied, saying how to attach one", Reason: "sign attest --vuln",
		Setup: func(w *World, l ocisig.Layout) string {
			return attested(w, l, "noscan", w.release(), nil, CycloneDXBOM("openssl"))
		}},
	{Name: "scan attestation signed by an identity the rule does not accept is denied", Reason: "refs: expected one of refs/heads/main",
		Setup: func(w *World, l ocisig.Layout) string {
			return attested(w, l, "feature-scan", w.GitHub("acme/app", "refs/heads/feature"), TrivyScan(), CycloneDXBOM("openssl"))
		}},
	{Name: "scan with a critical vulnerability is denied, naming the finding", Reason: `fails condition "no-critical" of rule "attested"`,
		Setup: func(w *World, l ocisig.Layout) string {
			return attested(w, l, "critical", w.release(), TrivyScan("LOW", "CRITICAL"), CycloneDXBOM("openssl"))
		}},
	{Name: "SBOM listing a denied package is denied, naming the package", Reason: `"name": "xz-utils"`,
		Setup: func(w *World, l ocisig.Layout) string {
			return attested(w, l, "xz", w.release(), TrivyScan(), CycloneDXBOM("openssl", "xz-utils"))
		}},
	{Name: "a condition that cannot be evaluated on the attestation fails closed", Reason: "could not be evaluated: vulnerabilities(): the value is not a cosign vulnerability predicate",
		Setup: func(w *World, l ocisig.Layout) string {
			return attested(w, l, "odd-scan", w.release(), map[string]any{"scanner": map[string]any{"result": "no findings"}}, CycloneDXBOM())
		}},
	{Name: "scan older than the rule's maxAge is denied", Reason: `old; rule "attested" accepts it only younger than 1h`,
		Setup: func(w *World, l ocisig.Layout) string {
			old := w.GitHub("acme/app", "refs/heads/main", sigstoretest.WithSigningTime(time.Now().Add(-2*time.Hour)))
			return attested(w, l, "stale", old, TrivyScan(), CycloneDXBOM())
		}},
	{Name: "a newer scan with a critical finding denies even beside an older clean one", Reason: "CVE-2024-3094",
		Setup: func(w *World, l ocisig.Layout) string {
			d := w.Push("acme/attested/app:rescanned")
			s := w.release()
			w.Sign(d, d, s, l)
			w.Attest(d, d, s, l, policy.PredicateCycloneDX, CycloneDXBOM())
			w.Attest(d, d, s, l, policy.PredicateVuln, TrivyScan())
			w.Attest(d, d, w.release(), l, policy.PredicateVuln, TrivyScan("CRITICAL"))
			return w.Ref("acme/attested/app:rescanned")
		}},
	{Name: "scan attestation copied from another digest is denied", Reason: "subject is not",
		Setup: func(w *World, l ocisig.Layout) string {
			other := w.Push("acme/attested/app:scanned-elsewhere")
			d := w.Push("acme/attested/app:copied-scan")
			s := w.release()
			w.Sign(d, d, s, l)
			w.Attest(d, other, s, l, policy.PredicateVuln, TrivyScan())
			w.Attest(d, d, s, l, policy.PredicateCycloneDX, CycloneDXBOM())
			return w.Ref("acme/attested/app:copied-scan")
		}},
	{Name: "an attestation larger than signet reads is refused, not read", Reason: "more than the 4194304 signet reads",
		Setup: func(w *World, l ocisig.Layout) string {
			return attested(w, l, "huge-sbom", w.release(), TrivyScan(), HugeBOM(5<<20))
		}},
	{Name: "a condition whose evaluation exceeds its cost budget is stopped and fails closed", Reason: "exceeded its budget",
		Setup: func(w *World, l ocisig.Layout) string {
			d := w.Push("acme/costly/app:1")
			s := w.release()
			w.Sign(d, d, s, l)
			items := make([]any, 3000)
			for i := range items {
				items[i] = fmt.Sprintf("item-%d", i)
			}
			w.Attest(d, d, s, l, "https://example.com/pairs/v1", map[string]any{"items": items})
			return w.Ref("acme/costly/app:1")
		}},
}

// release is the signer the "attested" and "provenance-required" rules
// accept: releaseIdentity.
func (w *World) release() *sigstoretest.Signer { return w.signer(releaseIdentity()) }

// releaseIdentity is acme/app's release workflow on main.
func releaseIdentity() sigstoretest.Identity {
	return sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main")
}

// attested pushes acme/attested/app:tag, signs it and attaches the SBOM
// as the rule's identity, and the scan as scanner (each when not nil).
func attested(w *World, l ocisig.Layout, tag string, scanner *sigstoretest.Signer, scan, bom map[string]any) string {
	d := w.Push("acme/attested/app:" + tag)
	s := w.release()
	w.Sign(d, d, s, l)
	if scan != nil {
		w.Attest(d, d, scanner, l, policy.PredicateVuln, scan)
	}
	if bom != nil {
		w.Attest(d, d, s, l, policy.PredicateCycloneDX, bom)
	}
	return w.Ref("acme/attested/app:" + tag)
}

// HugeBOM is a CycloneDX BOM of about size bytes (as JSON).
func HugeBOM(size int) map[string]any {
	var names []string
	pad := strings.Repeat("x", 200)
	for n := 0; n < size; {
		name := fmt.Sprintf("pkg-%d-%s", n, pad)
		names = append(names, name)
		n += 2*len(name) + 80 // its name, its purl, the keys and the other values
	}
	return CycloneDXBOM(names...)
}
