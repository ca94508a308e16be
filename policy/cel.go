package policy

import (
	"fmt"
	"reflect"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
)

// Conditions are CEL expressions (cel.dev/cel-go, the language of
// Kubernetes' ValidatingAdmissionPolicy and Kyverno's CEL policies) over
// one verified attestation. This file is their environment: what an
// expression may name, and the limits that keep a trust file from
// stalling the webhook. Everything is checked when the trust file loads.
//
// Variables:
//
//	predicate  dyn                  the statement's predicate, as JSON decodes it
//	statement  map(string, dyn)     the in-toto statement: _type, subject, predicateType, predicate
//	signer     policy.SignerFacts   who signed it: identity (the trust file's name),
//	                                subject and issuer (keyless), keyID (key),
//	                                sourceRepository and sourceRef (Fulcio extensions)
//
// Functions: CEL's standard library (has(), size(), exists(), all(),
// filter(), map(), matches() with RE2, timestamp(), duration(), …), the
// cel-go extensions for strings, lists, sets, math, cel.bind() and
// optional values (predicate.?a.?b.orValue(x)), plus signet's
// packages(predicate) (an SBOM's packages, CycloneDX or SPDX, as
// {name, version, purl}) and vulnerabilities(predicate) (a cosign
// vulnerability predicate's findings, Trivy or Grype, as {id, severity,
// package, version, fixedVersion}; severity upper-case).
//
// There is no `now`: a condition's verdict depends only on the
// attestation, so a decision can be cached exactly; age is maxAge's job.

// Limits on conditions.
const (
	// MaxExpressionLength bounds one expression's source (code points).
	MaxExpressionLength = 4096
	// MaxPredicateBytes is the largest predicate a condition can read: what
	// fits in the largest attestation signet reads from a registry
	// (ocisig.MaxBlobBytes, 4 MiB, holding the statement base64-encoded).
	MaxPredicateBytes = 3 << 20
	// ConditionCostLimit is the runtime cost budget of one condition on one
	// attestation (cel-go cost units, about one per value visited; the
	// per-expression limit of Kubernetes' ValidatingAdmissionPolicy): an
	// evaluation that exceeds it stops and the condition fails closed.
	// Measured: about 0.1 s of one core; a check of every package of a
	// 1 MB SBOM costs a few ten thousand.
	ConditionCostLimit = 1_000_000
	// DecisionCostLimit bounds the conditions of one decision together
	// (about 0.6 s, well inside the webhook's 8 s): once spent, the
	// remaining conditions are not evaluated and fail closed.
	DecisionCostLimit = 5 * ConditionCostLimit
	// MaxLoopNesting is how deep loops (all, exists, filter, map, …) may
	// nest: the cost of a condition grows at most with the square of its
	// predicate's size.
	MaxLoopNesting = 2
	// MaxBindNesting is how deep cel.bind() may nest.
	MaxBindNesting = 8
	// MaxEstimatedCost refuses at load an expression whose worst case, as
	// cel-go estimates it with every list, map and string of the predicate
	// as large as MaxPredicateBytes allows, exceeds it: about two loops
	// over the largest predicate with a body of constant cost (a field
	// compared with a literal). It refuses comparing predicate strings with
	// each other inside two loops, and values that grow with each step.
	MaxEstimatedCost = 10_000_000_000_000_000
)

// SignerFacts is who signed an attestation, as a condition sees it
// (the variable `signer`).
type SignerFacts struct {
	Identity         string `cel:"identity"`
	Subject          string `cel:"subject"`
	Issuer           string `cel:"issuer"`
	KeyID            string `cel:"keyID"`
	SourceRepository string `cel:"sourceRepository"`
	SourceRef        string `cel:"sourceRef"`
}

// celEnv is the one environment every condition compiles in: immutable
// once built, so it is built once per process, on first use.
var celEnv = sync.OnceValues(newCELEnv)

func newCELEnv() (*cel.Env, error) {
	env, err := cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[SignerFacts](), ext.ParseStructTags(true)),
		cel.Variable("predicate", cel.DynType),
		cel.Variable("statement", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("signer", cel.ObjectType("policy.SignerFacts")),
		ext.Strings(),
		ext.Lists(ext.ListsMaxRangeSize(10_000)),
		ext.Sets(),
		ext.Math(),
		ext.Bindings(),
		cel.OptionalTypes(),
		cel.EnableMacroCallTracking(),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(MaxExpressionLength),
		cel.ParserRecursionLimit(100),
		signetLibrary(),
	)
	if err != nil {
		return nil, fmt.Errorf("policy: building the CEL environment: %w", err)
	}
	return env, nil
}
