package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/golden"
	"github.com/signet-dev/signet/verify"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenRuns are the runs whose reports testdata/report-*.golden hold:
// every line the text can print, each layout outcome, both verdicts.
func goldenRuns() map[string]struct {
	res *Result
	err error
} {
	logIndex, attIndex := int64(41), int64(42)
	const index, child = "sha256:1d3a", "sha256:7c2e"
	pinned := "ghcr.io/acme/app:1.4.2@" + index
	allowed := &verify.Decision{Image: pinned, Digest: index, Pinned: pinned, Allowed: true, Mode: policy.ModeEnforce,
		PolicyHash: "sha256:07f0", Rule: &verify.RuleRef{Name: "acme-apps", Kind: policy.RuleSignature, Pattern: "ghcr.io/acme/**"}}
	denied := &verify.Decision{Image: pinned, Digest: index, Pinned: pinned, Mode: policy.ModeEnforce, PolicyHash: "sha256:07f0",
		Reasons: []verify.Reason{{Code: verify.CodeNoSignature, Message: "no signature on " + index}}}
	signed := []Attached{
		{Digest: index, Bundle: "sha256:b001", LegacyTag: "sha256-1d3a.sig", LogIndex: &logIndex,
			BundleWrite: &ocisig.Outcome{Action: ocisig.ActionAdded},
			LegacyWrite: &ocisig.Outcome{Action: ocisig.ActionReplaced, Replaced: []string{"sha256:0ld1"}}},
		{Digest: child, Bundle: "sha256:b002", LegacyTag: "sha256-7c2e.sig",
			BundleWrite: &ocisig.Outcome{Action: ocisig.ActionUnchanged},
			LegacyWrite: &ocisig.Outcome{Action: ocisig.ActionAdded, Warning: "the tag held 64 entries; the oldest was dropped"}},
	}
	attested := []Attached{{Digest: index, Bundle: "sha256:a001", LogIndex: &attIndex, BundleWrite: &ocisig.Outcome{Action: ocisig.ActionAdded}}}
	notes := &PreflightReport{Image: "ghcr.io/acme/app:1.4.2", PolicyHash: "sha256:07f0", Rule: "acme-apps", Signer: "key sha256:k3y",
		Identity: "release-key", OK: true, Notes: []string{`rule "acme-apps" needs 2 of [release-key qa-key]; this run provides release-key only`}}
	refused := &PreflightReport{Image: "ghcr.io/acme/app:1.4.2", PolicyHash: "sha256:07f0", Rule: "acme-apps",
		Signer:   "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/feature",
		Problems: []policy.Mismatch{{Identity: "app-release", Field: "refs", Expected: `"refs/heads/main"`, Actual: "refs/heads/feature"}}}
	pendingScan := &verify.Decision{Image: pinned, Digest: index, Pinned: pinned, Mode: policy.ModeEnforce, PolicyHash: "sha256:07f0",
		Reasons: []verify.Reason{{Code: verify.CodeNoAttestation, Message: `sha256:1d3a has no vuln attestation (https://cosign.sigstore.dev/attestation/vuln/v1); rule "acme-apps" requires one signed by [app-release]`,
			Hint: "attach a vulnerability scan in CI: `sign attest --vuln scan.json IMAGE` (Trivy `--format json` or Grype `-o json`)"}}}
	failingScan := &PreflightReport{Image: "ghcr.io/acme/app:1.4.2", PolicyHash: "sha256:07f0", Rule: "acme-apps",
		Signer: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main", Identity: "app-release",
		Conditions: []policy.Mismatch{{Identity: "app-release", Field: "images[0].attestations[0].conditions[0]",
			Expected: `!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")`,
			Actual:   `vulnerabilities(predicate) where v.severity == "CRITICAL" = [{"id": "CVE-2024-3094", "package": "xz-utils", "severity": "CRITICAL"}]`}}}
	return map[string]struct {
		res *Result
		err error
	}{
		"signed-attested-allowed": {res: &Result{Image: "ghcr.io/acme/app:1.4.2", Digest: index, Pinned: pinned, FromTag: true,
			Signed: signed, Attested: attested, Preflight: notes, Decision: allowed}},
		"post-check-denied": {res: &Result{Image: pinned, Digest: index, Pinned: pinned, Signed: signed[:1], Decision: denied},
			err: fmt.Errorf("%w: the cluster would deny %s: %v", ErrPostCheck, pinned, denied.Messages())},
		"preflight-refused": {res: &Result{Image: "ghcr.io/acme/app:1.4.2", Preflight: refused},
			err: fmt.Errorf("%w: %w", ErrPreflight, errors.New("refs: expected \"refs/heads/main\", actual \"refs/heads/feature\""))},
		"attested-pending": {res: &Result{Image: pinned, Digest: index, Pinned: pinned, Attested: attested, Decision: pendingScan,
			Pending: pendingScan.Messages()}},
		"preflight-condition-refused": {res: &Result{Image: "ghcr.io/acme/app:1.4.2", Preflight: failingScan},
			err: fmt.Errorf("%w: %w", ErrPreflight, failingScan.Err())},
	}
}

// TestReportGolden: the text `sign image` logs, the JSON document of -o
// json and the CI outputs and step summary are byte for byte the files in
// testdata (go test -update rewrites them), and the JSON reads back into
// the same Report, the type programs read it with.
func TestReportGolden(t *testing.T) {
	for name, run := range goldenRuns() {
		t.Run(name, func(t *testing.T) {
			r := NewReport(run.res, run.err)
			var text, doc bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteJSON(&doc); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "testdata/report-"+name+".txt.golden", text.String(), *update)
			golden.Check(t, "testdata/report-"+name+".json.golden", doc.String(), *update)
			golden.Check(t, "testdata/report-"+name+".outputs.golden", renderOutputs(r), *update)
			var back Report
			if err := json.Unmarshal(doc.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&back, r) {
				t.Fatalf("the document does not read back into the same report:\n got %+v\nwant %+v", back, *r)
			}
		})
	}
}

// renderOutputs is the outputs as key=value lines, sorted, then the summary.
func renderOutputs(r *Report) string {
	o := r.Outputs()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(o.Values)) {
		fmt.Fprintf(&b, "%s=%s\n", k, o.Values[k])
	}
	b.WriteString("--- summary\n" + o.Summary)
	return b.String()
}

// TestReportErrorIsTheRunsError: the document says why a run failed, and
// says nothing of an error when it did not.
func TestReportErrorIsTheRunsError(t *testing.T) {
	err := fmt.Errorf("%w: nope", ErrPreflight)
	if got := NewReport(&Result{}, err).Error; got != err.Error() {
		t.Fatalf("Error = %q, want %q", got, err.Error())
	}
	var doc bytes.Buffer
	if err := NewReport(&Result{Image: "x"}, nil).WriteJSON(&doc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc.String(), `"error"`) {
		t.Fatalf("a run that succeeded reports an error:\n%s", doc.String())
	}
}
