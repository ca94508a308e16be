package policy

import (
	"fmt"
	"reflect"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"google.golang.org/protobuf/types/known/structpb"
)

// signet's CEL functions read the two predicates rules most often ask
// about in one shape, whatever tool made them, so a condition is one flat
// pass (linear, and estimated so at load) instead of a walk over each
// tool's nesting:
//
//	packages(dyn) -> list(map(string, string))          {name, version, purl}
//	vulnerabilities(dyn) -> list(map(string, string))   {id, severity, package, version, fixedVersion}
//
// packages reads a CycloneDX BOM (components, nested ones included) or an
// SPDX 2 document (packages, purl from externalRefs). vulnerabilities reads
// a cosign vulnerability predicate whose scanner.result is a Trivy JSON
// report (Results[].Vulnerabilities[]) or a Grype JSON document
// (matches[]), or such a report itself; severity is upper-case (CRITICAL,
// HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN). Anything else is an evaluation
// error: the condition fails closed.

func signetLibrary() cel.EnvOption {
	listOfMaps := cel.ListType(cel.MapType(cel.StringType, cel.StringType))
	return func(e *cel.Env) (*cel.Env, error) {
		return e.Extend(
			cel.Function("packages", cel.Overload("packages_dyn", []*cel.Type{cel.DynType}, listOfMaps,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return flatten(v, sbomPackages) }))),
			cel.Function("vulnerabilities", cel.Overload("vulnerabilities_dyn", []*cel.Type{cel.DynType}, listOfMaps,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return flatten(v, scanFindings) }))),
			cel.CostModel(flatCost("packages_dyn"), flatCost("vulnerabilities_dyn")),
		)
	}
}

// flatCost prices packages() and vulnerabilities(): at load, one visit per
// element of the largest predicate and a list as long; at run time, one per
// element produced.
func flatCost(id string) cost.OverloadModel {
	maxElems := uint64(MaxPredicateBytes / 2)
	return cost.Overload(id, cost.ManualCost(
		func(cost.Estimator, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
			size := cost.RangedSizeEstimate(0, maxElems)
			return &cost.CallEstimate{CostEstimate: cost.RangedCostEstimate(1, maxElems), ResultSize: &size}
		},
		func(_ []ref.Val, result ref.Val) *uint64 {
			n := uint64(1)
			if l, ok := result.(interface{ Size() ref.Val }); ok {
				if s, ok := l.Size().(types.Int); ok {
					n += 2 * uint64(s)
				}
			}
			return &n
		}))
}

func flatten(v ref.Val, read func(any) ([]map[string]string, error)) ref.Val {
	out, err := read(native(v))
	if err != nil {
		return types.NewErr("%v", err)
	}
	return types.DefaultTypeAdapter.NativeToValue(out)
}

// native is v as encoding/json would decode it: a predicate variable is
// that already; a value built in the expression is converted.
func native(v ref.Val) any {
	switch x := v.Value().(type) {
	case map[string]any, []any, string, float64, bool, nil:
		return x
	}
	pb, err := v.ConvertToNative(reflect.TypeFor[*structpb.Value]())
	if err != nil {
		return nil
	}
	return pb.(*structpb.Value).AsInterface()
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func arr(v any) []any          { a, _ := v.([]any); return a }
func str(v any) string         { s, _ := v.(string); return s }

// sbomPackages reads the packages of a CycloneDX BOM or an SPDX 2 document.
func sbomPackages(v any) ([]map[string]string, error) {
	doc := obj(v)
	switch {
	case str(doc["bomFormat"]) == "CycloneDX" || doc["components"] != nil && doc["specVersion"] != nil:
		var out []map[string]string
		var walk func([]any)
		walk = func(cs []any) {
			for _, c := range cs {
				m := obj(c)
				if m == nil {
					continue
				}
				out = append(out, map[string]string{"name": str(m["name"]), "version": str(m["version"]), "purl": str(m["purl"])})
				walk(arr(m["components"]))
			}
		}
		walk(arr(doc["components"]))
		return orEmpty(out), nil
	case strings.HasPrefix(str(doc["spdxVersion"]), "SPDX-2"):
		var out []map[string]string
		for _, p := range arr(doc["packages"]) {
			m := obj(p)
			if m == nil {
				continue
			}
			purl := ""
			for _, r := range arr(m["externalRefs"]) {
				if rm := obj(r); str(rm["referenceType"]) == "purl" {
					purl = str(rm["referenceLocator"])
					break
				}
			}
			out = append(out, map[string]string{"name": str(m["name"]), "version": str(m["versionInfo"]), "purl": purl})
		}
		return orEmpty(out), nil
	}
	return nil, fmt.Errorf("packages(): the value is neither a CycloneDX BOM (bomFormat: CycloneDX) nor an SPDX 2 document (spdxVersion: SPDX-2.x)")
}

// scanFindings reads the findings of a cosign vulnerability predicate (or
// of the Trivy or Grype report it carries as scanner.result).
func scanFindings(v any) ([]map[string]string, error) {
	doc := obj(v)
	if s := obj(doc["scanner"]); s != nil {
		doc = obj(s["result"])
	}
	switch {
	case doc["Results"] != nil || doc["SchemaVersion"] != nil: // Trivy
		var out []map[string]string
		for _, r := range arr(doc["Results"]) {
			for _, f := range arr(obj(r)["Vulnerabilities"]) {
				m := obj(f)
				out = append(out, map[string]string{"id": str(m["VulnerabilityID"]), "severity": strings.ToUpper(str(m["Severity"])),
					"package": str(m["PkgName"]), "version": str(m["InstalledVersion"]), "fixedVersion": str(m["FixedVersion"])})
			}
		}
		return orEmpty(out), nil
	case doc["matches"] != nil: // Grype
		var out []map[string]string
		for _, f := range arr(doc["matches"]) {
			m := obj(f)
			vuln, art := obj(m["vulnerability"]), obj(m["artifact"])
			var fixed []string
			for _, fv := range arr(obj(vuln["fix"])["versions"]) {
				fixed = append(fixed, str(fv))
			}
			out = append(out, map[string]string{"id": str(vuln["id"]), "severity": strings.ToUpper(str(vuln["severity"])),
				"package": str(art["name"]), "version": str(art["version"]), "fixedVersion": strings.Join(fixed, ", ")})
		}
		return orEmpty(out), nil
	}
	return nil, fmt.Errorf("vulnerabilities(): the value is not a cosign vulnerability predicate whose scanner.result is a Trivy or Grype JSON report")
}

func orEmpty(l []map[string]string) []map[string]string {
	if l == nil {
		return []map[string]string{}
	}
	return l
}
