package policy

import (
	"fmt"
	"slices"
	"strings"
)

// SLSA is what a rule's provenance conditions are checked against: the
// fields verify reads from a verified SLSA predicate (v1 or v0.2), or that
// sign's preflight reads from the provenance a run will attach.
type SLSA struct {
	BuilderID        string
	BuildType        string
	SourceRepository string // "https://github.com/acme/app"
	SourceRef        string // "refs/heads/main"
	SourceDigest     string
}

// Check checks the content conditions of pv (builder ids, build types,
// source repositories and refs, sourceMatchesSigner) against s, the
// provenance of an attestation signed by a certificate whose Source
// Repository URI is signerRepositoryURI ("" for a key). It returns the
// first condition s fails, or nil. It is the one definition of those
// conditions: the cluster's engine and sign's preflight both evaluate
// through it. Predicate types and signers are the caller's to check.
func (pv *Provenance) Check(s SLSA, signerRepositoryURI string) *Mismatch {
	mismatch := func(field, expected, actual, format string, args ...any) *Mismatch {
		return &Mismatch{Field: field, Expected: expected, Actual: actual, msg: fmt.Sprintf(format, args...)}
	}
	if len(pv.BuilderIDs) > 0 && !matchAny(pv.BuilderIDs, s.BuilderID) {
		want := joinGlobs(pv.BuilderIDs, ", ")
		return mismatch("provenance.builderIDs", want, s.BuilderID, "builder id %q is not one of %s", s.BuilderID, want)
	}
	if len(pv.BuildTypes) > 0 && !slices.Contains(pv.BuildTypes, s.BuildType) {
		want := strings.Join(pv.BuildTypes, ", ")
		return mismatch("provenance.buildTypes", want, s.BuildType, "build type %q is not one of %s", s.BuildType, want)
	}
	if len(pv.SourceRepositories) > 0 && !matchAny(pv.SourceRepositories, s.SourceRepository) {
		want := joinGlobs(pv.SourceRepositories, ", ")
		return mismatch("provenance.sourceRepositories", want, s.SourceRepository,
			"source repository %q is not one of %s", s.SourceRepository, want)
	}
	if len(pv.SourceRefs) > 0 && !matchAny(pv.SourceRefs, s.SourceRef) {
		want := joinGlobs(pv.SourceRefs, ", ")
		return mismatch("provenance.sourceRefs", want, s.SourceRef, "source ref %q is not one of %s", s.SourceRef, want)
	}
	if signer := signerRepositoryURI; pv.SourceMatchesSigner && (signer == "" || !SameRepositoryURI(s.SourceRepository, signer)) {
		want := "<a keyless signer's source repository>"
		if signer != "" {
			want = fmt.Sprintf("source repository = signer's %q", signer)
		}
		return mismatch("provenance.sourceMatchesSigner", want, s.SourceRepository,
			"provenance source %q is not the signer's repository %q (sourceMatchesSigner)", s.SourceRepository, signer)
	}
	return nil
}

// SameRepositoryURI reports whether two repository URIs name one
// repository, however a git URI spells it ("git+https://…/app.git/").
func SameRepositoryURI(a, b string) bool { return normalizeRepoURI(a) == normalizeRepoURI(b) }

func normalizeRepoURI(s string) string {
	s = strings.TrimPrefix(s, "git+")
	s = strings.TrimSuffix(s, "/")
	return strings.TrimSuffix(s, ".git")
}
