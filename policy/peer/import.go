// Package peer moves image-verification policies between signet and the
// verifiers teams arrive from: Kyverno (ClusterPolicy and Policy
// verifyImages rules, ImageValidatingPolicy) and sigstore's
// policy-controller (ClusterImagePolicy, TrustRoot). Import reads their
// YAML and returns a trust file (a policy.Spec, plus the trusted-root
// files it names) and a change report that classifies every difference in
// what gets admitted: equivalent, stricter, weaker (refused unless
// allowed, and listed) or not expressible (refused, with the reason).
// Export goes the other way, for running a peer beside signet during a
// migration. Pure: it reads what it is given and touches no network.
package peer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// Options adjust Import.
type Options struct {
	// AllowWeaker writes the trust file even when a difference is weaker
	// than the source (each is listed in the report).
	AllowWeaker bool
	// NotarySubjects pins the subject (an RFC 4514 DN) of a Kyverno notary
	// attestor, which trusts any subject its certificates issued and which
	// signet refuses otherwise: keyed by the identity name the report
	// gives it.
	NotarySubjects map[string]string
}

// Result is an import: the trust file, the files it names (trusted roots
// built from the source's keys and certificates, by path relative to the
// trust file), and the report. Spec is only meaningful when the report
// was not refused.
type Result struct {
	Spec   policy.Spec
	Files  map[string][]byte
	Report Report
}

// Import converts the Kubernetes objects in files. Objects it does not
// know (a Deployment, a ConfigMap) are listed in the report as ignored;
// input that is not YAML, or an object of a known kind it cannot read, is
// an error with its position (a *policy.LoadError).
func Import(files []File, opts Options) (*Result, error) {
	for _, f := range files {
		if isNotationPolicy(f.Data) {
			if len(files) > 1 {
				return nil, fmt.Errorf("%s: a notation trust policy is imported on its own, not with other files", f.Name)
			}
			return importNotation(f, opts)
		}
	}
	c := newConverter(opts)
	docs, err := readDocuments(files, c.errs)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		c.report.Sources = append(c.report.Sources, fmt.Sprintf("%s (%s)", d, d.file))
	}
	// TrustRoots first: policies name them.
	for _, d := range docs {
		if d.kind == "TrustRoot" {
			c.document(d)
		}
	}
	for _, d := range docs {
		if d.kind != "TrustRoot" {
			c.document(d)
		}
	}
	if err := c.errs.err(); err != nil {
		return nil, err
	}
	c.assemble()
	c.report.settle(opts.AllowWeaker)
	return &Result{Spec: c.spec, Files: c.files, Report: c.report}, nil
}

// converter accumulates one import.
type converter struct {
	opts   Options
	errs   *errorList
	report Report
	spec   policy.Spec
	files  map[string][]byte
	// rules are the source rules read, in order.
	rules []*sourceRule
	// identities by their content (identityKey), for reuse.
	identities map[string]string
	// families of the sources read: their scopes differ (finalRule).
	kyverno, pc bool
	// trustRoots are the TrustRoots read, by name: their trusted_root.json
	// (nil when refused).
	trustRoots map[string][]byte
}

func newConverter(opts Options) *converter {
	return &converter{opts: opts, errs: &errorList{}, report: Report{Direction: "import"}, files: map[string][]byte{}, identities: map[string]string{}}
}

// note records a difference about the construct at.
func (c *converter) note(class Class, at Pos, source, format string, args ...any) *Difference {
	c.report.Differences = append(c.report.Differences, Difference{Class: class, At: at, Source: source, Message: fmt.Sprintf(format, args...)})
	return &c.report.Differences[len(c.report.Differences)-1]
}

// document dispatches one object by its kind.
func (c *converter) document(d document) {
	group, _, _ := strings.Cut(d.apiVersion, "/")
	switch {
	case group == "kyverno.io" && (d.kind == "ClusterPolicy" || d.kind == "Policy"):
		c.kyverno = true
		c.kyvernoPolicy(d)
	case group == "policies.kyverno.io" && (d.kind == "ImageValidatingPolicy" || d.kind == "NamespacedImageValidatingPolicy"):
		c.kyverno = true
		c.imageValidatingPolicy(d)
	case group == "policy.sigstore.dev" && d.kind == "ClusterImagePolicy":
		c.pc = true
		c.clusterImagePolicy(d)
	case group == "policy.sigstore.dev" && d.kind == "TrustRoot":
		c.trustRoot(d)
	default:
		c.report.Ignored = append(c.report.Ignored, fmt.Sprintf("%s: %s (%s): not an image verification policy", d.root.pos(), d, d.apiVersion))
	}
}

// identity adds id (named name unless an identity with the same content
// exists) and returns the name it has in the trust file.
func (c *converter) identity(name string, id policy.IdentitySpec) string {
	key := identityKey(id)
	if have, ok := c.identities[key]; ok {
		return have
	}
	id.Name = c.uniqueIdentityName(name)
	c.identities[key] = id.Name
	c.spec.Identities = append(c.spec.Identities, id)
	return id.Name
}

func (c *converter) uniqueIdentityName(name string) string {
	name = sanitizeName(name)
	taken := func(n string) bool {
		return slices.ContainsFunc(c.spec.Identities, func(id policy.IdentitySpec) bool { return id.Name == n })
	}
	out := name
	for i := 2; taken(out); i++ {
		out = fmt.Sprintf("%s-%d", name, i)
	}
	return out
}

// sanitizeName keeps a name readable in a trust file and a report.
func sanitizeName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '/':
			return r
		}
		return '-'
	}, s)
	if s == "" {
		return "imported"
	}
	return s
}

// policyRule starts the one source rule of a policy-level object (an
// ImageValidatingPolicy, a ClusterImagePolicy): fields of spec the
// importer does not know refuse it.
func (c *converter) policyRule(d document, spec obj, known []string) *sourceRule {
	r := &sourceRule{at: d.root.pos(), source: d.String(), name: sanitizeName(d.name)}
	c.rules = append(c.rules, r)
	for _, f := range spec.unknown(known...) {
		c.ruleNote(r, NotExpressible, spec.at(f), "unknown field %s", f)
		r.refused = true
	}
	return r
}
