package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/sign"
)

var osEnv = ci.OSEnv

// report prints the run's result (text or JSON) and writes CI outputs.
// It runs on failure too, so a refused preflight still explains itself.
func report(c *cli.Context, res *sign.Result, runErr error) error {
	if res == nil {
		return nil
	}
	w := c.App.Writer
	if c.String("output") == "json" {
		out := struct {
			*sign.Result
			Error string `json:"error,omitempty"`
		}{Result: res}
		if runErr != nil {
			out.Error = runErr.Error()
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		writeText(w, res)
	}
	if res.Digest == "" {
		return nil
	}
	files, err := outputs(res).Write(osEnv, c.String("dotenv"))
	for _, f := range files {
		stderrLog(c)("outputs written to %s", f)
	}
	return err
}

func writeText(w io.Writer, res *sign.Result) {
	if res.Preflight != nil && (!res.Preflight.OK || len(res.Preflight.Notes) > 0) {
		res.Preflight.WriteText(w)
	}
	if res.Digest == "" {
		return
	}
	fmt.Fprintf(w, "%s\n", res.Pinned)
	for _, a := range res.Signed {
		fmt.Fprintf(w, "  signed   %s%s\n", a.Digest, where(a))
	}
	for _, a := range res.Attested {
		fmt.Fprintf(w, "  attested %s%s\n", a.Digest, where(a))
	}
	if d := res.Decision; d != nil {
		verdict := "allowed"
		if !d.Allowed {
			verdict = "DENIED: " + strings.Join(d.Messages(), "; ")
		}
		fmt.Fprintf(w, "  post-check (policy %s): %s\n", d.PolicyHash, verdict)
	}
}

func where(a sign.Attached) string {
	var parts []string
	if a.Bundle != "" {
		parts = append(parts, "bundle "+a.Bundle+outcome(a.BundleWrite))
	}
	if a.LegacyTag != "" {
		parts = append(parts, "tag "+a.LegacyTag+outcome(a.LegacyWrite))
	}
	if a.LogIndex != nil {
		parts = append(parts, fmt.Sprintf("rekor #%d", *a.LogIndex))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// outcome says what a write did about the signer's earlier entries, when
// it did more than add the first one.
func outcome(o *ocisig.Outcome) string {
	switch {
	case o == nil:
		return ""
	case o.Action == ocisig.ActionUnchanged:
		return " unchanged, already there"
	case o.Action == ocisig.ActionReplaced:
		return fmt.Sprintf(" replacing %d earlier of this signer", len(o.Replaced))
	case o.Warning != "":
		return " added; " + o.Warning
	}
	return ""
}

func outputs(res *sign.Result) ci.Outputs {
	v := map[string]string{"digest": res.Digest, "image": res.Pinned}
	var signed []string
	for _, a := range res.Signed {
		signed = append(signed, a.Digest)
	}
	if len(signed) > 0 {
		v["signed_digests"] = strings.Join(signed, ",")
	}
	for _, a := range res.Attested {
		if a.Bundle != "" {
			v["attestation_bundle"] = a.Bundle
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### signet\n\n| | |\n|---|---|\n| image | `%s` |\n", res.Pinned)
	fmt.Fprintf(&b, "| signed | %d manifest(s) |\n| attested | %d |\n", len(res.Signed), len(res.Attested))
	if d := res.Decision; d != nil {
		fmt.Fprintf(&b, "| post-check | allowed=%v (policy `%s`) |\n", d.Allowed, d.PolicyHash)
	}
	b.WriteString("\n")
	return ci.Outputs{Values: v, Summary: b.String()}
}
