package verdict

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
)

const (
	repo   = "registry.example/apps/app"
	digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	other  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	policy = "sha256:aaaa"
	rule   = "sha256:bbbb"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newPair(t *testing.T) (*Signer, *Verifier) {
	t.Helper()
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pairOf(t, priv, pub)
}

// pairOf is the signer and verifier of a PEM key pair.
func pairOf(t *testing.T, priv, pub []byte) (*Signer, *Verifier) {
	t.Helper()
	s, err := NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func claim() *Claim {
	return &Claim{Namespace: "apps", Pod: "app-7d9f-", PodPrefix: true, PolicyHash: policy, Time: t0,
		Images: []Image{{Repository: repo, Digest: digest, RuleHash: rule}}}
}

func want() Want {
	return Want{Namespace: "apps", Pod: "app-7d9f-x2k4q", Repository: repo, Digest: digest,
		PolicyHash: policy, RuleHash: rule, Now: t0.Add(time.Minute), MaxAge: time.Hour}
}

func TestSignedVerdictRoundTrips(t *testing.T) {
	s, v := newPair(t)
	env, err := s.Sign(claim())
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(env)
	if err != nil {
		t.Fatal(err)
	}
	if got.KeyID != s.KeyID() || !got.Time.Equal(t0) || got.Namespace != "apps" || got.Pod != "app-7d9f-" || !got.PodPrefix ||
		got.PolicyHash != policy || len(got.Images) != 1 || got.Images[0] != claim().Images[0] {
		t.Fatalf("claim after a round trip: %+v", got)
	}
	if err := got.Covers(want()); err != nil {
		t.Fatalf("the verdict does not cover the pod it was issued for: %v", err)
	}
}

// TestVerdictCoversOnlyWhatItSays: a verdict copied to another digest,
// namespace or pod, kept past the max age, or read under another trust file
// or rule version does not count.
func TestVerdictCoversOnlyWhatItSays(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Want)
		want   error
	}{
		{"the pod it was issued for", func(*Want) {}, nil},
		{"copied to another digest of the same repository", func(w *Want) { w.Digest = other }, ErrDigest},
		{"copied to another repository with the same digest", func(w *Want) { w.Repository = "registry.example/apps/evil" }, ErrDigest},
		{"copied to a pod in another namespace", func(w *Want) { w.Namespace = "prod" }, ErrNamespace},
		{"copied to another pod of the namespace", func(w *Want) { w.Pod = "rogue-1" }, ErrPod},
		{"copied to a pod named exactly the prefix", func(w *Want) { w.Pod = "app-7d9f-" }, ErrPod},
		{"read after the trust file changed", func(w *Want) { w.PolicyHash = "sha256:cccc" }, ErrPolicy},
		{"read under another version of the rule", func(w *Want) { w.RuleHash = "sha256:dddd" }, ErrRule},
		{"older than the max age", func(w *Want) { w.Now = t0.Add(time.Hour + time.Second) }, ErrExpired},
		{"dated in the future", func(w *Want) { w.Now = t0.Add(-2 * time.Minute) }, ErrFuture},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := want()
			tc.change(&w)
			err := claim().Covers(w)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Covers: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNamedPodVerdictCoversOnlyThatPod(t *testing.T) {
	c := claim()
	c.Pod, c.PodPrefix = "web", false
	w := want()
	w.Pod = "web"
	if err := c.Covers(w); err != nil {
		t.Fatal(err)
	}
	w.Pod = "web-2"
	if err := c.Covers(w); !errors.Is(err, ErrPod) {
		t.Fatalf("a verdict for pod web covers web-2: %v", err)
	}
}

// TestOnlyTrustedSignaturesCount: a verdict signed by another key, with a
// changed payload or no signature at all is refused before its claim is read.
func TestOnlyTrustedSignaturesCount(t *testing.T) {
	s, v := newPair(t)
	rogue, _ := newPair(t)
	good, err := s.Sign(claim())
	if err != nil {
		t.Fatal(err)
	}
	forged, err := rogue.Sign(claim())
	if err != nil {
		t.Fatal(err)
	}
	var env ssldsse.Envelope
	if err := json.Unmarshal([]byte(good), &env); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	tampered := env
	tampered.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), "apps", "prod", 1)))
	tamperedJSON, _ := json.Marshal(tampered)
	relabelled := env
	relabelled.Signatures = []ssldsse.Signature{{KeyID: s.KeyID(), Sig: mustField(t, forged)}}
	relabelledJSON, _ := json.Marshal(relabelled)
	unsigned := env
	unsigned.Signatures = nil
	unsignedJSON, _ := json.Marshal(unsigned)
	for name, ann := range map[string]string{
		"signed by a key the node does not trust":          forged,
		"payload changed after signing":                    string(tamperedJSON),
		"another key's signature under the trusted key ID": string(relabelledJSON),
		"no signature": string(unsignedJSON),
	} {
		t.Run(name, func(t *testing.T) {
			if c, err := v.Verify(ann); !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify: %+v, %v; want ErrSignature", c, err)
			}
		})
	}
	for name, ann := range map[string]string{
		"not JSON":  "signet-admitted",
		"oversized": strings.Repeat("x", MaxEnvelope+1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(ann); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func mustField(t *testing.T, env string) string {
	t.Helper()
	var e ssldsse.Envelope
	if err := json.Unmarshal([]byte(env), &e); err != nil {
		t.Fatal(err)
	}
	return e.Signatures[0].Sig
}

// TestVerdictIsAVSA: the payload is an in-toto v1 statement with a SLSA
// verification summary predicate, readable by any VSA consumer.
func TestVerdictIsAVSA(t *testing.T) {
	s, _ := newPair(t)
	env, err := s.Sign(claim())
	if err != nil {
		t.Fatal(err)
	}
	var e ssldsse.Envelope
	if err := json.Unmarshal([]byte(env), &e); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(e.Payload)
	var st struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate struct {
			Verifier     struct{ ID string } `json:"verifier"`
			TimeVerified time.Time           `json:"timeVerified"`
			ResourceURI  string              `json:"resourceUri"`
			Policy       struct {
				URI    string
				Digest map[string]string
			}
			VerificationResult string   `json:"verificationResult"`
			VerifiedLevels     []string `json:"verifiedLevels"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	p := st.Predicate
	if st.Type != "https://in-toto.io/Statement/v1" || st.PredicateType != "https://slsa.dev/verification_summary/v1" ||
		len(st.Subject) != 1 || st.Subject[0].Name != repo || st.Subject[0].Digest["sha256"] != strings.TrimPrefix(digest, "sha256:") ||
		p.Verifier.ID != VerifierID || !p.TimeVerified.Equal(t0) || p.ResourceURI != "k8s:pod:apps/app-7d9f-*" ||
		p.Policy.Digest["sha256"] != "aaaa" || p.VerificationResult != "PASSED" || len(p.VerifiedLevels) != 1 {
		t.Fatalf("statement:\n%s", payload)
	}
}
