package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// TestVerifyBinarySpecification runs the whole allow/deny table through
// `sign verify -o json`, in both layouts, asserting the exit code, the
// verdict and the reason.
func TestVerifyBinarySpecification(t *testing.T) {
	for _, e := range []struct {
		name        string
		layout      ocisig.Layout
		noReferrers bool
	}{
		{"legacy", ocisig.LayoutLegacy, false},
		{"bundle", ocisig.LayoutBundle, false},
		{"bundle-referrers-tag", ocisig.LayoutBundle, true},
	} {
		t.Run(e.name, func(t *testing.T) {
			w := testworld.New(t, testworld.Options{NoReferrers: e.noReferrers})
			for _, c := range testworld.Cases {
				t.Run(c.Name, func(t *testing.T) {
					image := c.Setup(w, e.layout)
					stdout, stderr, code := runSign(t, nil, "verify", "--policy", w.PolicyPath, "--output", "json", image)
					var res verify.Report
					if err := json.Unmarshal([]byte(stdout), &res); err != nil {
						t.Fatalf("output is not JSON (%v):\n%s\n%s", err, stdout, stderr)
					}
					wantCode := 1
					if c.Allow {
						wantCode = 0
					}
					if code != wantCode || res.Allowed != c.Allow || len(res.Decisions) != 1 {
						t.Fatalf("exit %d allowed=%v, want exit %d allowed=%v:\n%s", code, res.Allowed, wantCode, c.Allow, stdout)
					}
					d := res.Decisions[0]
					if !c.Allow && !strings.Contains(strings.Join(d.Messages(), "\n"), c.Reason) {
						t.Fatalf("reason does not say %q:\n%s", c.Reason, stdout)
					}
					if c.Signatures != 0 && len(d.Signatures) != c.Signatures {
						t.Fatalf("%d signatures listed, want %d (each counted signer once):\n%s", len(d.Signatures), c.Signatures, stdout)
					}
					if res.PolicyHash == "" || d.PolicyHash != res.PolicyHash {
						t.Fatalf("policy hash missing or inconsistent:\n%s", stdout)
					}
				})
			}
		})
	}
}

func TestVerifyExitCodes(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	signed := w.Push("acme/app:ok")
	w.Sign(signed, signed, w.KeySigner(nil), ocisig.LayoutBundle)
	w.Push("acme/app:unsigned")
	w.Push("vendor/x:1")

	t.Run("all allowed exits 0", func(t *testing.T) {
		out, _, code := runSign(t, nil, "verify", "-p", w.PolicyPath, signed.String(), w.Ref("vendor/x:1"))
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("one denied exits 1 and explains in text", func(t *testing.T) {
		out, _, code := runSign(t, nil, "verify", "-p", w.PolicyPath, signed.String(), w.Ref("acme/app:unsigned"))
		if code != 1 || !strings.Contains(out, "ALLOW") || !strings.Contains(out, "DENY") || !strings.Contains(out, "has no signatures") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("policy from SIGNET_POLICY", func(t *testing.T) {
		_, _, code := runSign(t, []string{"SIGNET_POLICY=" + w.PolicyPath}, "verify", signed.String())
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	})
	for name, args := range map[string][]string{
		"no image":       {"verify", "-p", w.PolicyPath},
		"missing policy": {"verify", "-p", "/nonexistent/trust.yaml", signed.String()},
		"bad output":     {"verify", "-p", w.PolicyPath, "-o", "yaml", signed.String()},
		"unknown flag":   {"verify", "--nope", signed.String()},
	} {
		t.Run(name+" exits 2", func(t *testing.T) {
			_, stderr, code := runSign(t, nil, args...)
			if code != 2 || stderr == "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}

func TestPolicyLintAndExplainGolden(t *testing.T) {
	out, _, code := runSign(t, nil, "policy", "lint", "../../policy/testdata/trust.yaml")
	if code != 0 {
		t.Fatalf("lint exit %d: %s", code, out)
	}
	golden(t, "lint-ok.golden", out)

	_, stderr, code := runSign(t, nil, "policy", "lint", "testdata/bad-trust.yaml")
	if code != 2 {
		t.Fatalf("lint of a bad file exit %d", code)
	}
	golden(t, "lint-bad.golden", stderr)

	out, _, code = runSign(t, nil, "policy", "lint", "testdata/warn-trust.yaml")
	if code != 0 {
		t.Fatalf("lint of a file with only warnings exit %d: %s", code, out)
	}
	golden(t, "lint-warnings.golden", out)

	out, _, code = runSign(t, nil, "policy", "lint", "-o", "json", "testdata/bad-trust.yaml")
	if code != 2 {
		t.Fatalf("lint -o json of a bad file exit %d", code)
	}
	golden(t, "lint-bad.json.golden", out)

	out, _, code = runSign(t, nil, "policy", "explain", "-o", "json", "../../policy/testdata/trust.yaml", "ghcr.io/acme/app:1.0")
	if code != 0 {
		t.Fatalf("explain -o json exit %d", code)
	}
	golden(t, "explain-keyless.json.golden", out)

	for name, image := range map[string]string{
		"explain-keyless.golden":  "ghcr.io/acme/app:1.0",
		"explain-key.golden":      "registry.acme.dev/tools/kubectl",
		"explain-pin-only.golden": "registry.k8s.io/pause:3.9",
		"explain-deny.golden":     "quay.io/someone/else",
	} {
		out, _, code := runSign(t, nil, "policy", "explain", "../../policy/testdata/trust.yaml", image)
		if code != 0 {
			t.Fatalf("explain %s exit %d", image, code)
		}
		golden(t, name, out)
	}
}

// TestVerifyTimeoutEndsAHang: a registry that accepts and never answers
// ends at --timeout (or SIGNET_TIMEOUT) in a transient denial (exit 3) that
// names what the registry did, never in a hung CI job.
func TestVerifyTimeoutEndsAHang(t *testing.T) {
	var hang atomic.Bool
	w := testworld.New(t, testworld.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if hang.Load() && strings.Contains(r.URL.Path, "/manifests/") {
				<-r.Context().Done()
				return
			}
			h.ServeHTTP(rw, r)
		})
	}})
	d := w.Push("acme/app:hang")
	w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutBundle)
	hang.Store(true)
	for _, how := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flag", nil, []string{"--timeout", "700ms"}},
		{"environment", []string{"SIGNET_TIMEOUT=700ms"}, nil},
	} {
		t.Run(how.name, func(t *testing.T) {
			start := time.Now()
			args := append(append([]string{"verify", "--policy", w.PolicyPath, "-o", "json"}, how.args...), w.Ref("acme/app:hang"))
			stdout, stderr, code := runSign(t, how.env, args...)
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("sign verify took %s with a 700ms timeout", el)
			}
			var res verify.Report
			if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != 3 || len(res.Decisions) != 1 {
				t.Fatalf("exit %d (%v):\n%s\n%s", code, err, stdout, stderr)
			}
			reasons := strings.Join(res.Decisions[0].Messages(), "\n")
			for _, want := range []string{"had not answered HEAD /v2/acme/app/manifests/hang", "--timeout of 700ms"} {
				if !strings.Contains(reasons, want) {
					t.Fatalf("reasons do not say %q:\n%s", want, reasons)
				}
			}
		})
	}
}
