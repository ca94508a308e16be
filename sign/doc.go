// Package sign signs image digests and attestations and attaches them in
// both OCI layouts, so cosign v2 (legacy .sig/.att tags), cosign v3 and
// every bundle-aware verifier (Sigstore bundle v0.3 referrers) find them.
//
// A Session is one signing identity for one run: a key (file or KMS) or an
// ephemeral key with one Fulcio certificate, plus the transparency logs and
// timestamp authorities to use. Every signature and attestation of a run
// comes from the same Session, so one OIDC exchange and one certificate
// serve them all. The material itself is produced by sigstore-go's
// sign.Bundle; the legacy layer is derived from the same bundles, never
// signed separately by another code path.
//
// Signing and publishing are separate halves (material.go): the Session is
// a Producer of Material, which touches no registry; a Publisher writes it
// (RegistryPublisher: bundle referrers, then the .sig/.att tags), touching
// no key. Run resolves, produces, publishes and post-checks, every registry
// request through one authenticated transport (registry.go) that remembers
// what the run wrote and read back (memo.go), so the post-check verifies
// the registry's listings without downloading the run's own material again.
//
// Preflight checks, before anything is pushed, that the trust policy would
// accept what the Session is about to produce.
//
// What a command decides besides is here too, so `sign` stays wiring and
// tests reach it: ChooseServices applies the precedence of a run's Sigstore
// services (flags, then a signing_config.json, then public-good), and a
// Report is a run's document: its JSON, its CI log text and its CI outputs.
package sign
