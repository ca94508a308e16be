package peer

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/policy"
)

// Export writes a trust file as a peer's policies, for teams that run the
// peer beside signet during a migration: ImageValidatingPolicy (Kyverno
// 1.17+) or ClusterImagePolicy (policy-controller). The report says what
// the peer cannot express; Options.AllowWeaker is needed to write a policy
// that admits what the trust file refuses.

// Target is a peer to export to.
type Target string

const (
	TargetIVPOL Target = "ivpol"
	TargetCIP   Target = "cip"
)

// Exported is an export: the peer's objects as one multi-document YAML,
// and the report.
type Exported struct {
	YAML   []byte
	Report Report
}

// Export converts p (loaded from a file: key files and trusted roots are
// read again from where it names them).
func Export(p *policy.Policy, to Target, opts Options) (*Exported, error) {
	e := &exporter{p: p, to: to, report: Report{Direction: "export to " + string(to), Sources: []string{p.Source}}}
	switch to {
	case TargetIVPOL, TargetCIP:
	default:
		return nil, fmt.Errorf("unknown export target %q: ivpol or cip", to)
	}
	e.order()
	for _, r := range p.Rules {
		e.rule(r)
	}
	e.report.settle(opts.AllowWeaker)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Exported by `sign policy export --to %s` from %s (policy %s).\n", to, p.Source, p.Hash)
	for i, d := range e.docs {
		if i > 0 {
			b.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
		enc.Close()
	}
	return &Exported{YAML: b.Bytes(), Report: e.report}, nil
}

type exporter struct {
	p      *policy.Policy
	to     Target
	report Report
	docs   []any
}

func (e *exporter) note(class Class, r *policy.Rule, format string, args ...any) {
	at := Pos{File: e.p.Source}
	src := "(all)"
	if r != nil {
		at.Path = fmt.Sprintf("images[%d]", r.Index)
		src = r.Name
	}
	e.report.Differences = append(e.report.Differences, Difference{Class: class, At: at, Source: src, Message: fmt.Sprintf(format, args...)})
}

// order reports where first-match (signet) and every-match (the peers)
// differ: an image a rule governs also faces every later rule whose
// patterns reach it.
func (e *exporter) order() {
	for i, a := range e.p.Rules {
		for _, b := range e.p.Rules[i+1:] {
			if b.Kind() == policy.RulePinOnly || catchAllRule(b) || !rulesOverlap(a, b) {
				continue
			}
			if b.Kind() == policy.RuleDeny {
				e.note(NotExpressible, b, "denies images that rule %s, which comes first, admits: the peer applies every matching policy, so it would deny them too; narrow its patterns", a.Name)
				continue
			}
			e.note(Stricter, b, "also applies to images rule %s governs (the peer applies every matching policy; signet the first)", a.Name)
		}
	}
}

func catchAllRule(r *policy.Rule) bool {
	for _, g := range r.Match {
		if g.String() == "**" {
			return true
		}
	}
	return false
}

func rulesOverlap(a, b *policy.Rule) bool {
	for _, g := range a.Match {
		for _, h := range b.Match {
			if overlap(g.String(), h.String()) {
				return true
			}
		}
	}
	return false
}

// rule exports one rule.
func (e *exporter) rule(r *policy.Rule) {
	switch r.Kind() {
	case policy.RulePinOnly:
		if e.to == TargetCIP {
			e.docs = append(e.docs, e.cip(r, []map[string]any{{"name": "pass", "static": map[string]any{"action": "pass"}}}, ""))
			e.note(Equivalent, r, "a pin-only rule becomes an authority static: pass")
			return
		}
		e.note(Equivalent, r, "a pin-only rule needs no ImageValidatingPolicy: Kyverno admits an image no policy matches")
		return
	case policy.RuleDeny:
		if catchAllRule(r) {
			if e.to == TargetCIP {
				e.note(Equivalent, r, "the final deny rule is policy-controller's default no-match-policy: deny (keep config-image-policies' no-match-policy at deny)")
			} else {
				e.note(Weaker, r, "the final deny rule has no ImageValidatingPolicy counterpart: Kyverno admits an image no policy matches")
			}
			return
		}
		if e.to == TargetCIP {
			e.docs = append(e.docs, e.cip(r, []map[string]any{{"name": "deny", "static": map[string]any{"action": "fail", "message": r.Deny}}}, ""))
		} else {
			e.docs = append(e.docs, e.ivpol(r, nil, nil, []map[string]any{{"expression": "images.containers.all(image, false) && images.initContainers.all(image, false) && images.ephemeralContainers.all(image, false)", "message": r.Deny}}))
		}
		e.note(Equivalent, r, "a deny rule becomes a policy that refuses every image it matches")
		return
	}
	if r.Signature == policy.IfPresent {
		e.note(NotExpressible, r, "signature: ifPresent (verify what is attached, admit an unsigned image) has no counterpart in the peer")
		return
	}
	if r.NoPin && e.to == TargetCIP {
		e.note(Stricter, r, "pin: false: policy-controller always resolves the tag to a digest")
	}
	if len(r.SignatureAnnotations) > 0 && e.to == TargetCIP {
		e.note(Weaker, r, "signatureAnnotations: policy-controller has no annotation check; the peer accepts signatures without them")
	}
	if r.Provenance != nil {
		e.note(Weaker, r, "provenance: export it as an attestations entry of the SLSA type; the peer checks no provenance fields")
	}
	if r.Platforms == policy.PlatformsAll {
		e.note(Weaker, r, "platforms: all: the peer checks the digest the pod names, not every platform of an index")
	}
	if e.to == TargetCIP {
		e.cipRule(r)
		return
	}
	e.ivpolRule(r)
}

// pemKey is a key identity's public key as PEM.
func pemKey(k *policy.Key) (string, error) {
	if k.PublicKey == nil {
		return "", nil
	}
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.PublicKey)
	return string(b), err
}

// sanRegexp writes a keyless identity's structured pins as the anchored
// SAN regexp a peer checks, and says what it loses.
func sanRegexp(k *policy.Keyless) (re string, lost []string) {
	switch {
	case k.Subject != "":
		return "", nil
	case k.SubjectRegexp != nil:
		return k.SubjectRegexp.String(), nil
	}
	sep := "/"
	if k.CI == policy.CIGitLab {
		sep = "//"
	}
	var repo string
	switch {
	case k.Workflow != "":
		repo = regexp.QuoteMeta(k.SignerRepository)
	case k.SignerRepositoryPattern != nil:
		repo = globRegexp(k.SignerRepositoryPattern.String())
	case k.Repository != nil:
		repo = globRegexp(k.Repository.String())
		lost = append(lost, "the SAN names the signing workflow's repository, the certificate's Source Repository the caller's: a reusable workflow in this repository, called from any other, passes the peer")
	}
	file := ".+"
	if k.Workflow != "" {
		file = regexp.QuoteMeta(k.Workflow)
	}
	ref := ".+"
	refs := k.SignerRefs
	if len(refs) == 0 {
		refs = k.Refs
		if len(refs) > 0 && k.Workflow != "" {
			lost = append(lost, "refs pin the source ref; the SAN has the signing workflow's ref, the same unless the workflow is reusable")
		}
	}
	if len(refs) > 0 {
		alts := make([]string, len(refs))
		for i, g := range refs {
			alts[i] = globRegexp(g.String())
		}
		ref = "(?:" + strings.Join(alts, "|") + ")"
	}
	if k.RunnerEnvironment != "" {
		lost = append(lost, "runnerEnvironment "+k.RunnerEnvironment)
	}
	if len(k.Triggers) > 0 {
		lost = append(lost, "triggers "+strings.Join(k.Triggers, ", "))
	}
	lost = append(lost, "the repository's numeric ID binding (a deleted and re-created repository of the same name passes)")
	return "^" + regexp.QuoteMeta(k.ServerURL) + "/" + repo + sep + file + "@" + ref + "$", lost
}

// globRegexp writes a signet glob as a regexp body: "*" within a segment,
// "**" across.
func globRegexp(g string) string {
	var b strings.Builder
	segs := strings.Split(g, "/")
	for i, s := range segs {
		if i > 0 {
			b.WriteString("/")
		}
		if s == "**" {
			b.WriteString(".+")
			continue
		}
		b.WriteString(wildcardRegexp(s, true))
	}
	return b.String()
}

// rootFile reads an identity's trusted root file, for a peer that takes
// it inline.
func rootFile(s policy.Sigstore) (string, error) {
	if s.TrustedRoot == policy.PublicGood || s.TrustedRoot == "" {
		return "", nil
	}
	b, err := os.ReadFile(s.TrustedRoot)
	return string(b), err
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// notationSubject names what a notation identity pins.
func notationSubject(n *policy.Notation) string {
	if len(n.Subject) > 0 {
		return fmt.Sprintf("subject %q", n.Subject.String())
	}
	return fmt.Sprintf("subject attributes %q", n.SubjectAttributes.String())
}

// keyRef is a key identity as both peers write a key: its KMS URI or its
// PEM data.
func (e *exporter) keyRef(r *policy.Rule, id *policy.Identity) (map[string]any, bool) {
	if id.Key.KMS != "" {
		return map[string]any{"kms": id.Key.KMS}, true
	}
	pem, err := pemKey(id.Key)
	if err != nil {
		e.note(NotExpressible, r, "identity %s: %v", id.Name, err)
		return nil, false
	}
	return map[string]any{"data": pem}, true
}

// keylessIdentity is a keyless identity as both peers write one: issuer
// and exact subject, or the anchored SAN regexp of its structured pins
// (what that loses is reported weaker).
func (e *exporter) keylessIdentity(r *policy.Rule, id *policy.Identity) map[string]any {
	ident := map[string]any{"issuer": id.Keyless.Issuer}
	re, lost := sanRegexp(id.Keyless)
	if re == "" {
		ident["subject"] = id.Keyless.Subject
	} else {
		ident["subjectRegExp"] = re
	}
	for _, l := range lost {
		e.note(Weaker, r, "identity %s becomes subjectRegExp %q and loses %s", id.Name, re, l)
	}
	return ident
}
