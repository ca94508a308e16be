package peer

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"

	"github.com/signet-dev/signet/policy"
)

// imageLists are the pod's image lists an ImageValidatingPolicy reads by
// default; signet verifies all of them.
var imageLists = []string{"containers", "initContainers", "ephemeralContainers"}

// everyImage writes a check over every image of the workload.
func everyImage(perImage, pred string) string {
	parts := make([]string, len(imageLists))
	for i, l := range imageLists {
		parts[i] = fmt.Sprintf("images.%s.map(image, %s).all(e, %s)", l, perImage, pred)
	}
	return strings.Join(parts, " && ")
}

// ivpolGlobs writes a rule's patterns as ImageValidatingPolicy globs,
// which Kyverno matches against the reference as the pod writes it:
// with its tag or digest, in each spelling of a Docker Hub name. gobwas's
// "*" crosses "/", so a segment "*" reaches deeper repositories too.
func (e *exporter) ivpolGlobs(r *policy.Rule) []map[string]any {
	var out []map[string]any
	deeper := false
	for _, g := range r.Match {
		for _, spelling := range rawSpellings(g.String()) {
			out = append(out, map[string]any{"glob": spelling})
			if !strings.HasSuffix(spelling, "*") {
				out = append(out, map[string]any{"glob": spelling + ":*"}, map[string]any{"glob": spelling + "@*"})
			}
		}
		deeper = deeper || strings.Contains(strings.ReplaceAll(g.String(), "**", ""), "*")
	}
	if deeper {
		e.note(Stricter, r, "a \"*\" within a segment becomes a glob \"*\", which also reaches deeper repositories in Kyverno")
	}
	return out
}

// rawSpellings are the ways a pod may write a repository the pattern
// matches: Docker Hub's official images as "name", "library/name",
// "docker.io/name" and "docker.io/library/name".
func rawSpellings(g string) []string {
	rest, ok := strings.CutPrefix(g, policy.DockerHub+"/")
	if !ok {
		return []string{g}
	}
	out := []string{"docker.io/" + rest, g}
	if name, official := strings.CutPrefix(rest, "library/"); official {
		out = append(out, name, "docker.io/"+name, "library/"+name)
	} else {
		out = append(out, rest)
	}
	return out
}

func (e *exporter) ivpol(r *policy.Rule, attestors, attestations, validations []map[string]any) map[string]any {
	spec := map[string]any{
		"matchConstraints": map[string]any{"resourceRules": []map[string]any{{
			"apiGroups": []string{""}, "apiVersions": []string{"v1"}, "operations": []string{"CREATE", "UPDATE"}, "resources": []string{"pods"}}}},
		"matchImageReferences": e.ivpolGlobs(r),
		"validations":          validations,
	}
	if e.p.ModeOf(r) == policy.ModeAudit {
		spec["validationActions"] = []string{"Audit"}
	} else {
		spec["validationActions"] = []string{"Deny"}
	}
	if len(attestors) > 0 {
		spec["attestors"] = attestors
	}
	if len(attestations) > 0 {
		spec["attestations"] = attestations
	}
	if r.NoPin {
		spec["validationConfigurations"] = map[string]any{"mutateDigest": false}
	}
	return map[string]any{"apiVersion": "policies.kyverno.io/v1", "kind": "ImageValidatingPolicy",
		"metadata": map[string]any{"name": k8sName(r.Name)}, "spec": spec}
}

// ivpolRule writes a signature rule.
func (e *exporter) ivpolRule(r *policy.Rule) {
	var attestors []map[string]any
	names := map[*policy.Identity]string{}
	add := func(ids []*policy.Identity) []string {
		var refs []string
		for _, id := range ids {
			if _, done := names[id]; !done {
				a, ok := e.ivpolAttestor(r, id)
				if !ok {
					continue
				}
				names[id] = a["name"].(string)
				attestors = append(attestors, a)
			}
			refs = append(refs, "attestors."+names[id])
		}
		return refs
	}
	sig := add(r.SignedBy)
	if len(sig) == 0 {
		return
	}
	validations := []map[string]any{{
		"expression": everyImage(fmt.Sprintf("verifyImageSignatures(image, [%s])", strings.Join(sig, ", ")), fmt.Sprintf("e >= %d", r.Threshold)),
		"message":    fmt.Sprintf("%s: %d signature(s) of %s required", r.Name, r.Threshold, strings.Join(policy.IdentityNames(r.SignedBy), ", ")),
	}}
	var attestations []map[string]any
	for i, a := range r.Attestations {
		name := celName(fmt.Sprintf("att%d_%s", i, a.Name))
		attestations = append(attestations, map[string]any{"name": name, "intoto": map[string]any{"type": a.PredicateType}})
		signers := add(a.SignedBy)
		validations = append(validations, map[string]any{
			"expression": everyImage(fmt.Sprintf("verifyAttestationSignatures(image, attestations.%s, [%s])", name, strings.Join(signers, ", ")), "e > 0"),
			"message":    fmt.Sprintf("%s: a %s attestation is required", r.Name, a.Name)})
		if a.MaxAge > 0 {
			e.note(Weaker, r, "attestation %s: maxAge has no ImageValidatingPolicy counterpart; the peer accepts an attestation of any age", a.Name)
		}
		for _, c := range a.Conditions {
			expr, err := payloadExpression(c.Expression, name)
			if err != nil {
				e.note(Weaker, r, "attestation %s: condition %s: %v; the peer does not check it", a.Name, c.Name, err)
				continue
			}
			validations = append(validations, map[string]any{"expression": everyImage(expr, "e"), "message": c.Message})
			e.note(Equivalent, r, "attestation %s: condition %s becomes a validation over extractPayload", a.Name, c.Name)
		}
	}
	e.docs = append(e.docs, e.ivpol(r, attestors, attestations, validations))
	e.note(Equivalent, r, "becomes ImageValidatingPolicy %s: %d of [%s]", k8sName(r.Name), r.Threshold, strings.Join(policy.IdentityNames(r.SignedBy), ", "))
}

// ivpolAttestor writes an identity as an attestor.
func (e *exporter) ivpolAttestor(r *policy.Rule, id *policy.Identity) (map[string]any, bool) {
	a := map[string]any{"name": celName(id.Name)}
	if n := id.Notation; n != nil {
		var certs []string
		for _, c := range n.CertificateAuthorities {
			certs = append(certs, string(pemCert(c.Cert.Raw)))
		}
		a["notary"] = map[string]any{"certs": map[string]any{"value": strings.Join(certs, "")}}
		e.note(Weaker, r, "identity %s: Kyverno's notary attestor trusts any subject its certificates issued; signet pins %s", id.Name, notationSubject(n))
		return a, true
	}
	cosign := map[string]any{}
	ctlog := map[string]any{}
	s := e.p.SigstoreOf(id)
	switch {
	case id.Key != nil:
		k, ok := e.keyRef(r, id)
		if !ok {
			return nil, false
		}
		cosign["key"] = k
		if id.Key.TransparencyLog != policy.Required {
			ctlog["insecureIgnoreTlog"] = true
		}
	case id.Keyless != nil:
		ident := e.keylessIdentity(r, id)
		cosign["keyless"] = map[string]any{"identities": []map[string]any{ident}}
		if s.TransparencyLog != policy.Required {
			ctlog["insecureIgnoreTlog"] = true
		}
		if s.CertificateTransparency != policy.Required {
			ctlog["insecureIgnoreSCT"] = true
		}
	}
	if root, err := rootFile(s); err != nil {
		e.note(NotExpressible, r, "identity %s: reading its trusted root: %v", id.Name, err)
		return nil, false
	} else if root != "" {
		cosign["trustedRoot"] = map[string]any{"value": root}
	}
	if len(ctlog) > 0 {
		cosign["ctlog"] = ctlog
	}
	if r.SignatureRepository != "" {
		cosign["source"] = map[string]any{"repository": r.SignatureRepository}
	}
	if len(r.SignatureAnnotations) > 0 {
		cosign["annotations"] = r.SignatureAnnotations
	}
	a["cosign"] = cosign
	return a, true
}

// payloadExpression rewrites a condition over predicate and statement as
// one over Kyverno's extractPayload of the named in-toto attestation.
func payloadExpression(expr, att string) (string, error) {
	env, err := cel.NewEnv()
	if err != nil {
		return "", err
	}
	tree, iss := env.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return "", iss.Err()
	}
	fac := ast.NewExprFactory()
	next := int64(1 << 40)
	id := func() int64 { next++; return next }
	var bad error
	root := tree.NativeRep().Expr()
	ast.PostOrderVisit(root, ast.NewExprVisitor(func(x ast.Expr) {
		switch {
		case x.Kind() == ast.IdentKind && (x.AsIdent() == "predicate" || x.AsIdent() == "statement"):
			payload := fac.NewCall(id(), "extractPayload", fac.NewIdent(id(), "image"), fac.NewSelect(id(), fac.NewIdent(id(), "attestations"), att))
			if x.AsIdent() == "predicate" {
				x.SetKindCase(fac.NewSelect(x.ID(), payload, "predicate"))
			} else {
				x.SetKindCase(payload)
			}
		case x.Kind() == ast.IdentKind && x.AsIdent() == "signer":
			bad = fmt.Errorf("it reads signer, which Kyverno does not expose")
		case x.Kind() == ast.CallKind && (x.AsCall().FunctionName() == "packages" || x.AsCall().FunctionName() == "vulnerabilities"):
			bad = fmt.Errorf("%s() is signet's", x.AsCall().FunctionName())
		}
	}))
	if bad != nil {
		return "", bad
	}
	return cel.ExprToString(root, tree.NativeRep().SourceInfo())
}

// celName makes a name a CEL identifier (attestors.<name>).
func celName(s string) string {
	out := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
	if out == "" || out[0] >= '0' && out[0] <= '9' {
		out = "x" + out
	}
	return out
}

// k8sName makes a name a Kubernetes object name.
func k8sName(s string) string {
	out := strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s), "-.")
	if len(out) > 63 {
		out = strings.Trim(out[:63], "-.")
	}
	if out == "" {
		return "signet"
	}
	return "signet-" + strings.TrimPrefix(out, "signet-")
}
