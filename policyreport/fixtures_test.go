package policyreport

import (
	"fmt"
	"strings"
	"time"

	"github.com/signet-dev/signet/scan"
)

// findings has every outcome signet writes, including a message far past
// MaxMessage with multi-byte characters at the cut.
func findings(ns string, n int) []scan.Finding {
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	base := scan.Finding{Namespace: ns, Workload: "Deployment/web", Image: "ghcr.io/acme/web:1", Digest: "sha256:" + strings.Repeat("a", 64),
		DigestFrom: scan.FromNode, Rule: "acme-apps", Mode: "enforce", PolicyHash: "sha256:" + strings.Repeat("0", 64), DecidedAt: at}
	var out []scan.Finding
	for i := range n {
		f := base
		f.Pod, f.PodUID, f.Container = fmt.Sprintf("web-%03d", i), fmt.Sprintf("uid-%03d", i), "container web"
		switch i % 5 {
		case 0:
			f.Result, f.Identities, f.Reason = scan.Pass, []string{"app-release"}, `signed by app-release, as rule "acme-apps" requires`
		case 1:
			f.Result, f.Reason = scan.Fail, "none of the 1 signatures satisfies rule \"acme-apps\": "+strings.Repeat("expected ‘acme/app’, certificate has ‘acme-evil/app’; ", 40)
		case 2:
			f.Result, f.Mode, f.Reason = scan.Fail, "audit", "no signature found"
		case 3:
			f.Result, f.Reason = scan.Error, "could not read signatures: registry unavailable"
		case 4:
			f.Result, f.Reason, f.Digest, f.DigestFrom, f.Rule = scan.Skip, "no digest known for what runs", "", "", ""
		}
		out = append(out, f)
	}
	return out
}

func results(fs []scan.Finding) []Result {
	var out []Result
	for _, f := range fs {
		out = append(out, FromFinding(f, PolicyName("/etc/signet/trust.yaml", f.PolicyHash)))
	}
	return out
}
