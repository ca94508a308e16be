package verdict

import (
	"fmt"
	"strings"

	vsa "github.com/in-toto/attestation/go/predicates/vsa/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The statement's constants.
const (
	PayloadType   = "application/vnd.in-toto+json"
	PredicateType = "https://slsa.dev/verification_summary/v1"
	// VerifierID names signet's webhook as the VSA's verifier.
	VerifierID = "https://signet.dev/enforce"
	// PolicyURI names the trust file in the VSA's policy; its digest is
	// the trust file's hash.
	PolicyURI = "signet:trust.yaml"
	// Level is the one verified level a signet verdict states: every
	// image of the pod was admitted under the trust file.
	Level = "SIGNET_ADMITTED"
	// ruleHashKey is the subject annotation holding the rule's hash.
	ruleHashKey = "signet.dev/rule-hash"
	passed      = "PASSED"
)

var marshal = protojson.MarshalOptions{}

// statement renders c as an in-toto statement with a VSA predicate.
func (c *Claim) statement() ([]byte, error) {
	pred := &vsa.VerificationSummary{
		Verifier:           &vsa.VerificationSummary_Verifier{Id: VerifierID},
		TimeVerified:       timestamppb.New(c.Time),
		ResourceUri:        c.ResourceURI(),
		Policy:             &vsa.VerificationSummary_Policy{Uri: PolicyURI, Digest: hashDigest(c.PolicyHash)},
		VerificationResult: passed,
		VerifiedLevels:     []string{Level},
	}
	predJSON, err := marshal.Marshal(pred)
	if err != nil {
		return nil, err
	}
	predStruct := &structpb.Struct{}
	if err := protojson.Unmarshal(predJSON, predStruct); err != nil {
		return nil, err
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, PredicateType: PredicateType, Predicate: predStruct}
	for _, img := range c.Images {
		ann, err := structpb.NewStruct(map[string]any{ruleHashKey: img.RuleHash})
		if err != nil {
			return nil, err
		}
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: img.Repository, Digest: hashDigest(img.Digest), Annotations: ann})
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("verdict statement: %w", err)
	}
	return marshal.Marshal(st)
}

// parseStatement reads a claim back from a statement (signature already
// checked). Anything but a PASSED VSA from signet's webhook is refused.
func parseStatement(b []byte) (*Claim, error) {
	st := &intoto.Statement{}
	if err := protojson.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("verdict statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("verdict statement: %w", err)
	}
	if st.PredicateType != PredicateType {
		return nil, fmt.Errorf("verdict predicate type %q, want %q", st.PredicateType, PredicateType)
	}
	predJSON, err := protojson.Marshal(st.Predicate)
	if err != nil {
		return nil, err
	}
	pred := &vsa.VerificationSummary{}
	if err := protojson.Unmarshal(predJSON, pred); err != nil {
		return nil, fmt.Errorf("verdict predicate: %w", err)
	}
	switch {
	case pred.GetVerifier().GetId() != VerifierID:
		return nil, fmt.Errorf("verdict verifier %q, want %q", pred.GetVerifier().GetId(), VerifierID)
	case pred.VerificationResult != passed:
		return nil, fmt.Errorf("verdict result %q, want %s", pred.VerificationResult, passed)
	case pred.GetPolicy().GetUri() != PolicyURI || pred.GetTimeVerified() == nil:
		return nil, fmt.Errorf("verdict names no signet trust file or no time")
	}
	c := &Claim{PolicyHash: fromDigest(pred.GetPolicy().GetDigest()), Time: pred.GetTimeVerified().AsTime()}
	if err := c.parseResourceURI(pred.ResourceUri); err != nil {
		return nil, err
	}
	for _, s := range st.Subject {
		rule, _ := s.GetAnnotations().AsMap()[ruleHashKey].(string)
		c.Images = append(c.Images, Image{Repository: s.Name, Digest: fromDigest(s.Digest), RuleHash: rule})
	}
	return c, nil
}

// hashDigest turns "sha256:<hex>" into {"sha256": "<hex>"}.
func hashDigest(h string) map[string]string {
	alg, hex, ok := strings.Cut(h, ":")
	if !ok {
		return map[string]string{"sha256": h}
	}
	return map[string]string{alg: hex}
}

// fromDigest is the inverse of hashDigest for a sha256 digest.
func fromDigest(d map[string]string) string {
	if hex, ok := d["sha256"]; ok && len(d) == 1 {
		return "sha256:" + hex
	}
	return ""
}
