package testworld

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
)

// Case is one row of the allow/deny specification that both the verify
// package and the `sign verify` binary must satisfy, in both layouts.
type Case struct {
	Name string
	// Setup builds the situation in w with signatures written in layout and
	// returns the image reference to verify.
	Setup func(w *World, layout ocisig.Layout) string
	Allow bool
	// Reason must appear in the denial.
	Reason string
	// Signatures, when set, is how many signatures the decision lists:
	// each counted signer once, never one signature per identity name.
	Signatures int
}

// Cases is the specification. A case's name says the security property.
var Cases = slices.Concat(signatureCases, attestationCases)

var signatureCases = []Case{
	{Name: "keyless signature from the trusted GitHub workflow is allowed", Allow: true,
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/app:1.0", w.GitHub("acme/app", "refs/heads/main"))
		}},
	{Name: "keyless signature from the trusted GitLab project is allowed", Allow: true,
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/app:gl", w.GitLab("acme/platform", "refs/heads/main"))
		}},
	{Name: "signature by the trusted key is allowed", Allow: true,
		Setup: func(w *World, l ocisig.Layout) string {
			d := w.Push("acme/app:key")
			w.Sign(d, d, w.KeySigner(nil), l)
			return d.String()
		}},
	{Name: "unsigned image is denied", Reason: "has no signatures",
		Setup: func(w *World, l ocisig.Layout) string {
			w.Push("acme/app:unsigned")
			return w.Ref("acme/app:unsigned")
		}},
	{Name: "signature by another key is denied", Reason: "is not signed by key release-key",
		Setup: func(w *World, l ocisig.Layout) string {
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return signed(w, l, "acme/app:otherkey", w.KeySigner(other))
		}},
	{Name: "trusted repository on an untrusted ref is denied", Reason: `refs: expected one of refs/heads/main, refs/tags/v*, certificate has "refs/heads/feature"`,
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/app:feature", w.GitHub("acme/app", "refs/heads/feature"))
		}},
	{Name: "acme-evil is denied where acme is trusted", Reason: `repository: expected "https://github.com/acme/app", certificate has "https://github.com/acme-evil/app"`,
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/app:evil", w.GitHub("acme-evil/app", "refs/heads/main"))
		}},
	{Name: "signature for another digest copied onto this one is denied", Reason: "copied from another image",
		Setup: func(w *World, l ocisig.Layout) string {
			signed := w.Push("acme/app:original")
			victim := w.Push("acme/app:victim")
			// A valid signature whose payload names the original digest,
			// attached to the victim's digest.
			w.Sign(victim, signed, w.GitHub("acme/app", "refs/heads/main"), l)
			return w.Ref("acme/app:victim")
		}},
	{Name: "tag moved after signing is denied", Reason: "has no signatures",
		Setup: func(w *World, l ocisig.Layout) string {
			d := w.Push("acme/app:moving")
			w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), l)
			w.Push("acme/app:moving") // the tag now names an unsigned digest
			return w.Ref("acme/app:moving")
		}},
	{Name: "expired certificate without log entry or timestamp is denied", Reason: "no trusted time for the signature",
		Setup: func(w *World, l ocisig.Layout) string {
			d := w.Push("acme/app:expired")
			past := time.Now().Add(-2 * time.Hour)
			w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main", sigstoretest.WithValidity(past, past.Add(10*time.Minute)), sigstoretest.WithoutTlog()), l)
			return w.Ref("acme/app:expired")
		}},
	{Name: "expired certificate with a timestamp from its validity is allowed", Allow: true,
		Setup: func(w *World, l ocisig.Layout) string {
			d := w.Push("acme/app:expired-ts")
			past := time.Now().Add(-2 * time.Hour)
			w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main", sigstoretest.WithSigningTime(past.Add(time.Minute)),
				sigstoretest.WithValidity(past, past.Add(10*time.Minute)), sigstoretest.WithoutTlog(), sigstoretest.WithTimestamp()), l)
			return w.Ref("acme/app:expired-ts")
		}},
	{Name: "certificate from an untrusted Fulcio root is denied", Reason: "does not chain to a Fulcio CA of the trusted root",
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/app:untrusted", w.GitHub("acme/app", "refs/heads/main", sigstoretest.WithUntrustedCA()))
		}},
	{Name: "certificate without SCT is denied when certificate transparency is required", Reason: "signed certificate timestamp",
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/app:nosct", w.GitHub("acme/app", "refs/heads/main", sigstoretest.WithoutSCT()))
		}},
	{Name: "signed image with valid SLSA v1 provenance is allowed", Allow: true,
		Setup: func(w *World, l ocisig.Layout) string {
			return provenanced(w, l, "1", "", policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(releaseIdentity()))
		}},
	{Name: "attestation of the wrong predicate type does not satisfy provenance", Reason: "has no https://slsa.dev/provenance/v1 attestation",
		Setup: func(w *World, l ocisig.Layout) string {
			return provenanced(w, l, "wrongtype", "", "https://cyclonedx.org/bom", map[string]any{"bomFormat": "CycloneDX"})
		}},
	{Name: "attestation about another digest is denied", Reason: "subject is not",
		Setup: func(w *World, l ocisig.Layout) string {
			return provenanced(w, l, "subject", "other", policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(releaseIdentity()))
		}},
	{Name: "provenance from another repository than the signer is denied", Reason: "sourceMatchesSigner",
		Setup: func(w *World, l ocisig.Layout) string {
			pred := sigstoretest.SLSAv1GitHub(sigstoretest.GitHub("acme/fork", ".github/workflows/release.yml", "refs/heads/main"))
			return provenanced(w, l, "source", "", policy.SLSAProvenanceV1, pred)
		}},
	{Name: "provenance whose CEL condition is false is denied", Reason: `condition "github-workflow-build"`,
		Setup: func(w *World, l ocisig.Layout) string {
			pred := sigstoretest.SLSAv1GitHub(releaseIdentity())
			pred["buildDefinition"].(map[string]any)["buildType"] = "https://example.com/hand-made/v1"
			return provenanced(w, l, "buildtype", "", policy.SLSAProvenanceV1, pred)
		}},

	{Name: "threshold of two identities is not met by one", Reason: "only 1 distinct signer", Signatures: 1,
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/dual/app:1", w.GitHub("acme/app", "refs/heads/main"))
		}},
	{Name: "threshold of two identities is met by a keyless and a key signature", Allow: true, Signatures: 2,
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/dual/app:2", w.GitHub("acme/app", "refs/heads/main"), w.KeySigner(nil))
		}},
	{Name: "one certificate satisfying two identities does not meet a threshold of two", Reason: "only 1 distinct signer", Signatures: 1,
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/tworefs/app:one-cert", w.GitHub("acme/app", "refs/heads/main"))
		}},
	{Name: "one certificate in both layouts is one signer", Reason: "only 1 distinct signer", Signatures: 1,
		Setup: func(w *World, l ocisig.Layout) string {
			d := w.Push("acme/tworefs/app:both-layouts")
			s := w.GitHub("acme/app", "refs/heads/main")
			w.Sign(d, d, s, ocisig.LayoutLegacy)
			w.Sign(d, d, s, ocisig.LayoutBundle)
			return w.Ref("acme/tworefs/app:both-layouts")
		}},
	{Name: "two certificates of one workflow identity are one signer", Reason: "only 1 distinct signer", Signatures: 1,
		Setup: func(w *World, l ocisig.Layout) string {
			return signed(w, l, "acme/tworefs/app:two-runs", w.GitHub("acme/app", "refs/heads/main"), w.GitHub("acme/app", "refs/heads/main"))
		}},
	{Name: "two refs of the workflow are two signers, each counted for a different identity", Allow: true, Signatures: 2,
		Setup: func(w *World, l ocisig.Layout) string {
			// main satisfies both identities, feature only app-any-ref: the
			// threshold holds only if main is counted for app-release.
			return signed(w, l, "acme/tworefs/app:two-refs", w.GitHub("acme/app", "refs/heads/main"), w.GitHub("acme/app", "refs/heads/feature"))
		}},
	{Name: "index with an unsigned platform is denied under platforms: all", Reason: "is not signed as rule",
		Setup: func(w *World, l ocisig.Layout) string {
			idx, children := w.PushIndex("acme/multi/app:1")
			s := w.GitHub("acme/app", "refs/heads/main")
			w.Sign(idx, idx, s, l)
			w.Sign(children[0], children[0], s, l)
			return w.Ref("acme/multi/app:1")
		}},
	{Name: "index with every platform signed is allowed under platforms: all", Allow: true,
		Setup: func(w *World, l ocisig.Layout) string {
			idx, children := w.PushIndex("acme/multi/app:2")
			s := w.GitHub("acme/app", "refs/heads/main")
			for _, d := range append([]name.Digest{idx}, children...) {
				w.Sign(d, d, s, l)
			}
			return w.Ref("acme/multi/app:2")
		}},
	{Name: "digest reference is verified at that digest even when the tag moved", Allow: true,
		Setup: func(w *World, l ocisig.Layout) string {
			d := w.Push("acme/app:pinned")
			w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), l)
			w.Push("acme/app:pinned")
			return d.String()
		}},
	{Name: "third-party image is allowed without signature and pinned", Allow: true,
		Setup: func(w *World, l ocisig.Layout) string {
			w.Push("vendor/db:7")
			return w.Ref("vendor/db:7")
		}},
	{Name: "image outside approved registries is denied by the deny rule", Reason: "only images from approved registries may run",
		Setup: func(w *World, l ocisig.Layout) string {
			return "quay.io/someone/tool:latest"
		}},
	{Name: "a deny rule on docker.io catches every spelling of Docker Hub", Reason: "nginx is retired here",
		Setup: func(w *World, l ocisig.Layout) string {
			return "registry-1.docker.io/nginx:1.27"
		}},
	{Name: "a deny rule catches its registry however the port is written", Reason: "nginx is retired here",
		Setup: func(w *World, l ocisig.Layout) string {
			return "Docker.IO.:0443/library/nginx:1.27" // the runtime dials docker.io:443
		}},
	{Name: "a registry host whose address depends on the resolver is refused", Reason: "numeric address only some resolvers read",
		Setup: func(w *World, l ocisig.Layout) string {
			return "127.1:5000/acme/app:1.0" // glibc dials 127.0.0.1, Go's resolver looks the name up
		}},
}

// provenanced pushes acme/prov/app:tag, signs it as the release workflow
// and attaches, as the same signer, a predicate of type predicateType about
// acme/prov/app:about (pushed first) or, when about is empty, about the
// image itself.
func provenanced(w *World, l ocisig.Layout, tag, about, predicateType string, predicate map[string]any) string {
	var subject name.Digest
	if about != "" {
		subject = w.Push("acme/prov/app:" + about)
	}
	d := w.Push("acme/prov/app:" + tag)
	if about == "" {
		subject = d
	}
	s := w.release()
	w.Sign(d, d, s, l)
	w.Attest(d, subject, s, l, predicateType, predicate)
	return w.Ref("acme/prov/app:" + tag)
}

// signed pushes repoTag, signs it in layout l by each signer in turn and
// returns its reference.
func signed(w *World, l ocisig.Layout, repoTag string, signers ...*sigstoretest.Signer) string {
	d := w.Push(repoTag)
	for _, s := range signers {
		w.Sign(d, d, s, l)
	}
	return w.Ref(repoTag)
}
