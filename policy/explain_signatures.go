package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// explainSignatures records where the rule's signatures are read from and
// what they must say besides who signed (rule_signatures.go).
func (e *Explanation) explainSignatures(r *Rule) {
	if r.Signature == IfPresent {
		e.Signature = IfPresent
	}
	e.SignatureRepository = r.SignatureRepository
	e.SignatureAnnotations = r.SignatureAnnotations
}

func (e *Explanation) writeSignatures(b *strings.Builder) {
	if e.Signature == IfPresent {
		fmt.Fprintf(b, "if present  an image without any signature is admitted (pinned); one that carries a signature must satisfy the above\n")
	}
	if e.SignatureRepository != "" {
		fmt.Fprintf(b, "stored in   %s (signatures and attestations, as cosign's COSIGN_REPOSITORY)\n", e.SignatureRepository)
	}
	if len(e.SignatureAnnotations) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(e.SignatureAnnotations)) {
			kv = append(kv, k+"="+e.SignatureAnnotations[k])
		}
		fmt.Fprintf(b, "annotations each signature's signed payload carries %s\n", strings.Join(kv, ", "))
	}
}
