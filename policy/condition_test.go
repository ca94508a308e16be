package policy

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func condition(t *testing.T, expr string) *Condition {
	t.Helper()
	c, issues := compileCondition(expr)
	if c == nil {
		t.Fatalf("%s: %v", expr, issues)
	}
	c.Name = "test"
	return c
}

func facts(t *testing.T, predicate any) *Facts {
	t.Helper()
	st, err := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": "x", "predicate": predicate})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFacts(st, SignerFacts{Identity: "app-release", Subject: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestConditionOutcomes: a condition passes, fails with what it saw, or
// fails closed (an error, a stopped evaluation); never passes by accident.
func TestConditionOutcomes(t *testing.T) {
	scan := map[string]any{"scanner": map[string]any{"result": map[string]any{"SchemaVersion": 2, "Results": []any{
		map[string]any{"Vulnerabilities": []any{
			map[string]any{"VulnerabilityID": "CVE-1", "Severity": "LOW", "PkgName": "a"},
			map[string]any{"VulnerabilityID": "CVE-2024-3094", "Severity": "CRITICAL", "PkgName": "xz-utils", "InstalledVersion": "5.6.0"},
		}}}}}, "count": 2}
	for _, tc := range []struct {
		name, expr string
		want       ConditionOutcome
		saw        string
	}{
		{"a true condition passes", `vulnerabilities(predicate).size() == 2`, ConditionPassed, ""},
		{"exists() that should not hold names the elements that hold", `!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")`,
			ConditionFailed, `vulnerabilities(predicate) where v.severity == "CRITICAL" = [{"fixedVersion": "", "id": "CVE-2024-3094", "package": "xz-utils", "severity": "CRITICAL", "version": "5.6.0"}]`},
		{"all() that does not hold names the elements that break it", `vulnerabilities(predicate).all(v, v.severity != "CRITICAL")`,
			ConditionFailed, `where !(v.severity != "CRITICAL") = [{"fixedVersion": "", "id": "CVE-2024-3094"`},
		{"a comparison shows its operands", `predicate.count > 3 && signer.identity == "app-release"`, ConditionFailed, "predicate.count = 2"},
		{"a missing field is an error, not false", `predicate.metadata.scanFinishedOn != ""`, ConditionError, ""},
		{"a non-bool result is an error", `predicate.count`, ConditionError, ""},
		{"a function given the wrong predicate is an error", `packages(predicate).size() > 0`, ConditionError, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := condition(t, tc.expr).Eval(facts(t, scan), NewBudget())
			if r.Outcome != tc.want || !strings.Contains(r.Observed.String(), tc.saw) {
				t.Fatalf("outcome %s (%s), saw %q; want %s, seeing %q", r.Outcome, r.Err, r.Observed, tc.want, tc.saw)
			}
			if tc.want == ConditionError && r.Err == "" {
				t.Fatal("an error without its cause")
			}
		})
	}
}

// TestConditionObservationsAreBounded: what a failure reports stays small
// whatever the predicate holds.
func TestConditionObservationsAreBounded(t *testing.T) {
	var comps []any
	for i := range 5000 {
		comps = append(comps, map[string]any{"name": fmt.Sprintf("pkg-%d-%s", i, strings.Repeat("x", 500))})
	}
	c := condition(t, `predicate.components.all(c, c.name.size() < 10) && predicate.components.size() < 3 && predicate.a == predicate.b || predicate.c == predicate.d`)
	r := c.Eval(facts(t, map[string]any{"components": comps, "a": strings.Repeat("a", 10000), "b": "b", "c": 1, "d": 2}), NewBudget())
	if r.Outcome != ConditionFailed {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Err)
	}
	if len(r.Observed) == 0 || len(r.Observed) > MaxObservations {
		t.Fatalf("%d observations, want 1 to %d", len(r.Observed), MaxObservations)
	}
	for _, o := range r.Observed {
		if len(o.Value) > MaxObservedValue || len(o.Expression) > 200 {
			t.Fatalf("observation of %d+%d bytes: %q", len(o.Expression), len(o.Value), o.Value)
		}
	}
}

// TestConditionCostIsBounded: an evaluation that would take long or build
// large values is stopped by its budget and fails closed, quickly.
func TestConditionCostIsBounded(t *testing.T) {
	items := make([]any, 4000)
	for i := range items {
		items[i] = fmt.Sprintf("item-%d", i)
	}
	grow := "predicate.s"
	expr := ""
	for i := range MaxBindNesting {
		expr += fmt.Sprintf("cel.bind(v%d, %s + %s + %s + %s, ", i, grow, grow, grow, grow)
		grow = fmt.Sprintf("v%d", i)
	}
	expr += grow + ".size() > 0" + strings.Repeat(")", MaxBindNesting)
	for _, tc := range []struct{ name, expr string }{
		{"an accidental quadratic over a large predicate", `predicate.items.all(x, predicate.items.all(y, y.startsWith("item-")))`},
		{"strings that quadruple in a chain of binds", expr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := condition(t, tc.expr)
			f := facts(t, map[string]any{"items": items, "s": strings.Repeat("s", 1000)})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			r := c.Eval(f, NewBudget())
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if r.Outcome != ConditionCostExceeded || !strings.Contains(r.Err, "exceeded its budget") {
				t.Fatalf("outcome %s (%s), want it stopped by its budget", r.Outcome, r.Err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB before it was stopped", alloc>>20)
			}
			if took > 5*time.Second { // ~0.1 s on a quiet core; generous under load
				t.Errorf("took %v before it was stopped", took)
			}
		})
	}
}

// TestDecisionBudgetStopsFurtherConditions: once a decision has spent its
// budget, further conditions are not evaluated: they fail closed.
func TestDecisionBudgetStopsFurtherConditions(t *testing.T) {
	items := make([]any, 3000)
	for i := range items {
		items[i] = "x"
	}
	costly := condition(t, `predicate.items.all(x, predicate.items.all(y, y == "x"))`)
	cheap := condition(t, `predicate.items.size() > 0`)
	f, b := facts(t, map[string]any{"items": items}), NewBudget()
	for range DecisionCostLimit / ConditionCostLimit {
		if r := costly.Eval(f, b); r.Outcome != ConditionCostExceeded {
			t.Fatalf("the costly condition: %s", r.Outcome)
		}
	}
	if r := cheap.Eval(f, b); r.Outcome != ConditionCostExceeded || !strings.Contains(r.Err, "budget for conditions") {
		t.Fatalf("after the decision's budget is spent: %s (%s), want not evaluated", r.Outcome, r.Err)
	}
	if r := cheap.Eval(f, NewBudget()); r.Outcome != ConditionPassed {
		t.Fatalf("with a fresh budget: %s", r.Outcome)
	}
}

// TestTooLargeStatementIsRefused: conditions never decode a statement
// larger than they evaluate.
func TestTooLargeStatementIsRefused(t *testing.T) {
	big := `{"predicate":{"s":"` + strings.Repeat("a", MaxPredicateBytes) + `"}}`
	if _, err := NewFacts([]byte(big), SignerFacts{}); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("a %d-byte statement: %v", len(big), err)
	}
}

// TestDeepBindsAreRefusedQuickly: cel-go's cost estimate takes time
// exponential in nested binds; a trust file cannot stall loading with them.
func TestDeepBindsAreRefusedQuickly(t *testing.T) {
	e, expr := "predicate.s", ""
	for i := range 40 {
		expr += fmt.Sprintf("cel.bind(v%d, %s + %s, ", i, e, e)
		e = fmt.Sprintf("v%d", i)
	}
	expr += e + ".size() > 0" + strings.Repeat(")", 40)
	done := make(chan []exprIssue, 1)
	go func() { _, issues := compileCondition(expr); done <- issues }()
	select {
	case issues := <-done:
		if len(issues) != 1 || !strings.Contains(issues[0].msg, "cel.bind() nests") {
			t.Fatalf("40 nested binds: %v", issues)
		}
	case <-time.After(10 * time.Second): // ~1 ms when refused early
		t.Fatal("loading a condition of 40 nested binds did not finish within 10 s")
	}
}

// TestFlatFunctions: packages() and vulnerabilities() read what the common
// tools write.
func TestFlatFunctions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		predicate string
		expr      string
	}{
		{"CycloneDX, nested components included", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"a","version":"1","purl":"pkg:npm/a@1","components":[{"name":"b","version":"2"}]}]}`,
			`packages(predicate) == [{"name":"a","version":"1","purl":"pkg:npm/a@1"},{"name":"b","version":"2","purl":""}]`},
		{"SPDX 2.3, purl from externalRefs", `{"spdxVersion":"SPDX-2.3","packages":[{"name":"openssl","versionInfo":"3.0.13","externalRefs":[{"referenceCategory":"SECURITY","referenceType":"cpe23Type","referenceLocator":"cpe"},{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/debian/openssl@3.0.13"}]}]}`,
			`packages(predicate) == [{"name":"openssl","version":"3.0.13","purl":"pkg:deb/debian/openssl@3.0.13"}]`},
		{"Trivy inside the cosign vuln predicate", `{"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.58.0","result":{"SchemaVersion":2,"Results":[{"Target":"os"},{"Target":"app","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"a","InstalledVersion":"1","FixedVersion":"2","Severity":"HIGH"}]}]}}}`,
			`vulnerabilities(predicate) == [{"id":"CVE-1","severity":"HIGH","package":"a","version":"1","fixedVersion":"2"}]`},
		{"Grype inside the cosign vuln predicate, severity upper-cased", `{"scanner":{"result":{"matches":[{"vulnerability":{"id":"GHSA-1","severity":"Critical","fix":{"versions":["1.2","2.0"]}},"artifact":{"name":"b","version":"1.1"}}]}}}`,
			`vulnerabilities(predicate) == [{"id":"GHSA-1","severity":"CRITICAL","package":"b","version":"1.1","fixedVersion":"1.2, 2.0"}]`},
		{"a Trivy report itself", `{"SchemaVersion":2,"Results":[]}`, `vulnerabilities(predicate) == []`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pred any
			if err := json.Unmarshal([]byte(tc.predicate), &pred); err != nil {
				t.Fatal(err)
			}
			if r := condition(t, tc.expr).Eval(facts(t, pred), NewBudget()); r.Outcome != ConditionPassed {
				t.Fatalf("%s: %s %s", r.Outcome, r.Err, r.Observed)
			}
		})
	}
}
