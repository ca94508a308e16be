package policy

import (
	"cmp"
	"slices"
)

// The normal form of attestation requirements and conditions, for the
// policy's and each rule's hash: a condition's expression is its meaning
// as written (two spellings of one test hash differently, which only costs
// a re-verification), its message is part of the reasons a cached
// decision carries.

type normalAttestation struct {
	Name               string            `json:"name"`
	PredicateType      string            `json:"predicateType"`
	SignedBy           []string          `json:"signedBy"`
	MaxAge             string            `json:"maxAge,omitempty"`
	TrustPredicateTime bool              `json:"trustPredicateTime,omitempty"`
	Conditions         []normalCondition `json:"conditions,omitempty"`
}

type normalCondition struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
	Message    string `json:"message,omitempty"`
}

// normalAttestations sorts the requirements by name: each must hold, in
// any order.
func normalAttestations(as []*Attestation) []normalAttestation {
	var out []normalAttestation
	for _, a := range as {
		n := normalAttestation{Name: a.Name, PredicateType: a.PredicateType, SignedBy: sorted(IdentityNames(a.SignedBy)),
			TrustPredicateTime: a.TrustPredicateTime, Conditions: normalConditions(a.Conditions)}
		if a.MaxAge > 0 {
			n.MaxAge = a.MaxAge.String()
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b normalAttestation) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func normalConditions(cs []*Condition) []normalCondition {
	var out []normalCondition
	for _, c := range cs {
		out = append(out, normalCondition{Name: c.Name, Expression: c.Expression, Message: c.Message})
	}
	return out
}
