package verify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenReport is one allowed and one denied decision with every field set.
func goldenReport() *Report {
	logIndex := int64(6)
	allowed := &Decision{Image: "ghcr.io/acme/app:1.0", Digest: "sha256:cd08", Pinned: "ghcr.io/acme/app:1.0@sha256:cd08",
		Allowed: true, Mode: policy.ModeEnforce, PolicyHash: "sha256:07f0",
		Rule: &RuleRef{Index: 0, Name: "acme-apps", Kind: policy.RuleSignature, Pattern: "ghcr.io/acme/**"},
		Signatures: []SignatureResult{{Identity: "app-release", Layout: ocisig.LayoutBundle,
			Subject: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com",
			LogIndex: &logIndex, Timestamps: []Timestamp{{Kind: "tlog", URI: "https://rekor.sigstore.dev", Time: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)}}}},
		TrustedRoot: "sha256:9a1c", TrustedRootSource: "tuf", Elapsed: Duration(4210 * time.Microsecond)}
	mm := policy.Mismatch{Identity: "app-release", Field: "refs", Expected: `"refs/heads/main"`, Actual: "refs/heads/feature"}
	denied := &Decision{Image: "ghcr.io/acme/app:feature", Digest: "sha256:ab12", Pinned: "ghcr.io/acme/app:feature@sha256:ab12",
		Mode: policy.ModeEnforce, PolicyHash: "sha256:07f0",
		Rule: &RuleRef{Index: 0, Name: "acme-apps", Kind: policy.RuleSignature, Pattern: "ghcr.io/acme/**"},
		Reasons: []Reason{{Code: CodeWrongIdentity, Mismatch: mm,
			Message: `none of the 1 signatures on sha256:ab12 satisfies rule "acme-apps" (needs 1 signature of [app-release]): bundle signature signed by "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/feature": identity "app-release": refs: expected "refs/heads/main", certificate has "refs/heads/feature"`}},
		Rejected: []Rejection{{Layout: ocisig.LayoutBundle, Kind: ocisig.KindSignature, Code: CodeWrongIdentity, Mismatch: mm,
			Reason: `bundle signature signed by "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/feature": identity "app-release": refs: expected "refs/heads/main", certificate has "refs/heads/feature"`}},
		Elapsed: Duration(3 * time.Millisecond)}
	return NewReport(&policy.Policy{Source: "trust.yaml", Hash: "sha256:07f0"}, []*Decision{allowed, denied})
}

// TestReportJSONGolden: `sign verify -o json`'s document is byte for byte
// testdata/report.json.golden (docs/verify-json.md shows it): "reasons"
// stay sentences, the typed reasons are "reasonDetails", and the document
// reads back into the same Report.
func TestReportJSONGolden(t *testing.T) {
	r := goldenReport()
	var got bytes.Buffer
	if err := r.WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/report.json.golden"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("sign verify -o json changed (a stable interface: fields are only ever added); run with -update if intended:\n%s", got.String())
	}
	var back Report
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Fatalf("the document does not read back into the same report:\n got %+v\nwant %+v", back.Decisions[1], r.Decisions[1])
	}
}

// TestReportReadsSentenceOnlyReasons: a document written before
// reasonDetails existed still reads, one uncoded Reason per sentence.
func TestReportReadsSentenceOnlyReasons(t *testing.T) {
	var d Decision
	if err := json.Unmarshal([]byte(`{"image":"x","allowed":false,"mode":"enforce","policyHash":"h","reasons":["a","b"],"elapsedMs":1}`), &d); err != nil {
		t.Fatal(err)
	}
	if got := d.Messages(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("reasons %v", got)
	}
}

// TestReportTransient is sign verify's exit 3 against 1: only when every
// denial came from infrastructure may a retry help.
func TestReportTransient(t *testing.T) {
	allow, deny, down := &Decision{Allowed: true}, &Decision{}, &Decision{Transient: true}
	cases := []struct {
		name string
		ds   []*Decision
		want bool
	}{
		{"all allowed is not transient", []*Decision{allow, allow}, false},
		{"a denial by infrastructure alone is transient", []*Decision{allow, down}, true},
		{"a denial on its merits beside one by infrastructure is not", []*Decision{down, deny}, false},
		{"a denial on its merits is not", []*Decision{deny}, false},
		{"no decisions is not", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := (&Report{Decisions: c.ds}).Transient(); got != c.want {
				t.Fatalf("Transient() = %v, want %v", got, c.want)
			}
		})
	}
}
