package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// ruleMeaning is what a decision under one rule depends on: the rule's
// requirements, the identities it (and its provenance) names, the sigstore
// section, and the mode it decides in. What only selects the images a rule
// governs (its match patterns, its position) is left out, and so is every
// other rule and identity: an edit elsewhere in the trust file does not
// change what this rule decides about a digest it governs.
type ruleMeaning struct {
	Rule       normalRule       `json:"rule"`
	Identities []normalIdentity `json:"identities,omitempty"`
	Sigstore   Sigstore         `json:"sigstore"`
	Mode       Mode             `json:"mode"`
}

// hashRules sets every rule's Hash (after the policy's mode is known).
func hashRules(p *Policy) {
	for _, r := range p.Rules {
		r.Hash = hashRule(p, r)
	}
}

func hashRule(p *Policy, r *Rule) string {
	m := ruleMeaning{Rule: normalizeRule(r), Sigstore: normalSigstore(p.Sigstore), Mode: p.ModeOf(r)}
	m.Rule.Match = nil
	seen := map[string]bool{}
	add := func(ids []*Identity) {
		for _, id := range ids {
			if !seen[id.Name] {
				seen[id.Name] = true
				m.Identities = append(m.Identities, normalizeIdentity(id))
			}
		}
	}
	add(r.SignedBy)
	if r.Provenance != nil {
		add(r.Provenance.SignedBy)
	}
	for _, a := range r.Attestations {
		add(a.SignedBy)
	}
	sortIdentities(m.Identities)
	data, err := json.Marshal(m)
	if err != nil {
		panic("policy: marshalling a rule's meaning: " + err.Error()) // plain structs: cannot fail
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
