package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"
)

// Where a rule's signatures are, and what they must say besides who made
// them: the trust-file counterparts of Kyverno's `required: false`,
// `repository` and `annotations`, policy-controller's `source.oci` and
// cosign's COSIGN_REPOSITORY and `sign -a`.

// IfPresent is a rule's `signature: ifPresent`: an image with no signature
// at all is admitted (pinned, like signature: optional), and one that
// carries a signature must satisfy the rule as if it were required. A
// signature that is there but does not verify, or is by someone else,
// denies: what is present is checked, never ignored.
const IfPresent Requirement = "ifPresent"

// ruleSignature reads a rule's `signature`: required (default), optional
// or ifPresent.
func (l *loader) ruleSignature(o *object, path string) Requirement {
	v, n := o.str("signature")
	switch Requirement(v) {
	case "":
		return Required
	case Required, Optional, IfPresent:
		return Requirement(v)
	}
	l.d.errorf(n, path+".signature", "must be %q, %q or %q, got %q", Required, Optional, IfPresent, v)
	return Required
}

// signatureRepository reads where the rule's signatures and attestations
// are stored when not beside the image: one repository, written as a
// reference without tag or digest, normalized as images are.
func (l *loader) signatureRepository(o *object, path string) string {
	v, n := o.str("signatureRepository")
	if v == "" {
		if n != nil {
			l.d.errorf(n, path+".signatureRepository", "is empty: name the repository the signatures are stored in, or remove it")
		}
		return ""
	}
	field := path + ".signatureRepository"
	if strings.ContainsAny(v, "*?") {
		l.d.errorf(n, field, "must be one repository, not a pattern, got %q", v)
		return ""
	}
	repo, err := name.NewRepository(v, name.StrictValidation)
	if err != nil {
		l.d.errorf(n, field, "not a repository (host/path, without tag or digest): %v", err)
		return ""
	}
	canonical, err := canonicalRepository(repo.Name())
	if err != nil {
		l.d.errorf(n, field, "%v", err)
		return ""
	}
	return canonical
}

// signatureAnnotations reads the annotations every counted signature's
// signed payload must carry (cosign's simple-signing `optional` map, which
// `cosign sign -a key=value` writes).
func (l *loader) signatureAnnotations(o *object, path string) map[string]string {
	n := o.get("signatureAnnotations")
	if n == nil {
		return nil
	}
	field := path + ".signatureAnnotations"
	m := l.d.object(n, field)
	m.entries = true // annotation keys are data, not fields
	out := map[string]string{}
	bad := false
	for k := range m.keys {
		v, vn := m.str(k)
		if k == "" || v == "" {
			l.d.errorf(nodeOr(vn, n), field, "annotation %q: keys and values must not be empty", k)
			bad = true
			continue
		}
		out[k] = v
	}
	m.done()
	if len(out) == 0 && !bad && n.Kind == yaml.MappingNode {
		l.d.errorf(n, field, "is empty: list the annotations signatures must carry, or remove it")
	}
	return out
}

// ifPresentAlone refuses what signature: ifPresent cannot mean: it
// admits an image that carries nothing, so a provenance or attestation
// requirement on the same rule could never be enforced for it.
func (l *loader) ifPresentAlone(o *object, path string) {
	for _, k := range []string{"provenance", "attestations"} {
		if o.has(k) {
			l.d.errorf(o.get(k), path+"."+k, "cannot be required with signature: ifPresent, which admits an image without any signature or attestation; use signature: required")
		}
	}
}

// signatureAnnotationSigners refuses annotations on a rule no signer of
// which can carry them: a Notation signature has no cosign payload.
func (l *loader) signatureAnnotationSigners(r *Rule, n *yaml.Node, path string) {
	if len(r.SignatureAnnotations) == 0 || len(r.SignedBy) == 0 {
		return
	}
	for _, id := range r.SignedBy {
		if id.Notation == nil {
			return
		}
	}
	l.d.errorf(n, path+".signatureAnnotations", "every signer of %s is a notation identity, and Notation signatures carry no cosign annotations: nothing could satisfy it", ruleRef(r))
}

// AnnotationMismatch says which required annotation a payload lacks (or
// has with another value), or "" when it has them all.
func AnnotationMismatch(want, got map[string]string) string {
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := got[k]; !ok {
			return fmt.Sprintf("%s: missing (want %q)", k, want[k])
		} else if v != want[k] {
			return fmt.Sprintf("%s: %q (want %q)", k, v, want[k])
		}
	}
	return ""
}
