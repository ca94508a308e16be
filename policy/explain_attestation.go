package policy

import (
	"fmt"
	"strings"
	"time"
)

// ExplainedAttestation is an attestation a rule requires, as `sign policy
// explain` shows it.
type ExplainedAttestation struct {
	Name          string   `json:"name"`
	PredicateType string   `json:"predicateType"`
	SignedBy      []string `json:"signedBy"`
	// MaxAge is how old it may be ("7d"), and AgeFrom what its age is
	// measured from.
	MaxAge  string `json:"maxAge,omitempty"`
	AgeFrom string `json:"ageFrom,omitempty"`
	// Conditions are its CEL conditions, "name: expression" each.
	Conditions []string `json:"conditions,omitempty"`
}

func explainAttestation(a *Attestation) ExplainedAttestation {
	e := ExplainedAttestation{Name: a.Name, PredicateType: a.PredicateType, SignedBy: IdentityNames(a.SignedBy), Conditions: explainConditions(a.Conditions)}
	if a.MaxAge > 0 {
		e.MaxAge, e.AgeFrom = FormatAge(a.MaxAge), "the signature's transparency log entry or RFC 3161 timestamp"
		if a.TrustPredicateTime {
			e.AgeFrom += ", or the time the predicate states (" + strings.Join(PredicateTimeFields[a.PredicateType], ".") + ") when earlier"
		}
	}
	return e
}

func explainConditions(cs []*Condition) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s: %s", c.Name, strings.Join(strings.Fields(c.Expression), " ")))
	}
	return out
}

func (a ExplainedAttestation) writeText(b *strings.Builder) {
	fmt.Fprintf(b, "attestation %s: %s signed by [%s]\n", a.Name, a.PredicateType, strings.Join(a.SignedBy, ", "))
	if a.MaxAge != "" {
		fmt.Fprintf(b, "            - younger than %s, from %s\n", a.MaxAge, a.AgeFrom)
	}
	for _, c := range a.Conditions {
		fmt.Fprintf(b, "            - %s\n", c)
	}
}

// FormatAge writes a maximum age as a trust file does: 7d, 36h, 90m.
func FormatAge(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
}
