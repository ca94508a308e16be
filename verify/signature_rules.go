package verify

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// What a rule says of its signatures besides who made them
// (policy/rule_signatures.go): where they are stored, that an image
// without any is admitted, and what their signed payload must carry.

// CodeAnnotationMismatch: a signature by an accepted identity whose signed
// payload lacks an annotation the rule requires (signatureAnnotations).
const CodeAnnotationMismatch ReasonCode = "annotation-mismatch"

// signatureDigest is where the signatures of digest are read for rule r:
// beside the image, or in the rule's signatureRepository under the same
// digest (cosign's COSIGN_REPOSITORY layout).
func signatureDigest(r *policy.Rule, digest name.Digest) (name.Digest, error) {
	if r.SignatureRepository == "" {
		return digest, nil
	}
	repo, err := name.NewRepository(r.SignatureRepository)
	if err != nil {
		return name.Digest{}, fmt.Errorf("signature repository %q of rule %q: %w", r.SignatureRepository, r.Name, err)
	}
	return repo.Digest(digest.DigestStr()), nil
}

// unsignedAdmitted reports whether a signature: ifPresent rule admits the
// image because nothing signature-like is attached to it: no signature,
// no unreadable signature material, nothing left unread. Anything there
// is verified as if the signature were required.
func (e *evaluation) unsignedAdmitted() bool {
	if e.rule.Signature != policy.IfPresent || len(e.ev.sigs) > 0 || len(e.ev.unread) > 0 {
		return false
	}
	for _, r := range e.ev.rejected {
		if r.Kind != ocisig.KindAttestation {
			return false
		}
	}
	e.d.Unsigned = true
	return true
}

// requireAnnotations keeps the matches of candidate c only when its signed
// payload carries every annotation the rule requires; otherwise it says
// which is missing.
func (e *evaluation) requireAnnotations(c *candidate, matches []match, reasons []Reason) ([]match, []Reason) {
	want := e.rule.SignatureAnnotations
	if len(want) == 0 || len(matches) == 0 {
		return matches, reasons
	}
	got, where := signedAnnotations(c, e.digest)
	miss := policy.AnnotationMismatch(want, got)
	if miss == "" {
		return matches, reasons
	}
	r := NewReason(CodeAnnotationMismatch, "%s by %s lacks the annotations rule %q requires (%s): %s", c.what(), matches[0].identity.Name, e.rule.Name, where, miss).
		With(&policy.Mismatch{Field: "signatureAnnotations", Expected: annotationList(want), Actual: annotationList(got)}).
		WithHint("sign with the annotations: cosign sign -a key=value (sign image does not write annotations)")
	return nil, []Reason{r}
}

// signedAnnotations reads the annotations a signature's signed payload
// carries: a simple-signing payload's "optional" map (legacy layout), or
// the annotations of the in-toto statement's subject for this digest
// (cosign v3's bundle signatures). A Notation signature carries none.
func signedAnnotations(c *candidate, digest name.Digest) (map[string]string, string) {
	out := map[string]string{}
	switch {
	case c.payload != nil:
		var p struct {
			Optional map[string]any `json:"optional"`
		}
		if json.Unmarshal(c.payload, &p) == nil {
			for k, v := range p.Optional {
				if s, ok := v.(string); ok {
					out[k] = s
				}
			}
		}
		return out, "the simple-signing payload's optional annotations"
	case c.statement != nil:
		var st struct {
			Subject []struct {
				Digest      map[string]string `json:"digest"`
				Annotations map[string]any    `json:"annotations"`
			} `json:"subject"`
		}
		if json.Unmarshal(c.statement.payload, &st) == nil {
			alg, hex, _ := strings.Cut(digest.DigestStr(), ":")
			for _, s := range st.Subject {
				if s.Digest[alg] != hex {
					continue
				}
				for k, v := range s.Annotations {
					if str, ok := v.(string); ok {
						out[k] = str
					}
				}
			}
		}
		return out, "the signed statement's subject annotations"
	}
	return out, "a signature without signed annotations"
}

func annotationList(m map[string]string) string {
	if len(m) == 0 {
		return "none"
	}
	b, _ := json.Marshal(m)
	return string(b)
}
