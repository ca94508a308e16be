package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/manifest"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/test/testworld"
)

// TestVerifyAdHocFlags: cosign's flags instead of a trust file, with
// cosign's defaults (a key signature without a log entry is refused unless
// --insecure-ignore-tlog), an exact SAN, and the trust file's refusals. The
// same verdicts from the cosign CLIs themselves: e2e TestAdHocFlagsAgreeWithCosign.
func TestVerifyAdHocFlags(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	keySigned := w.Push("acme/app:key")
	w.Sign(keySigned, keySigned, w.KeySigner(nil), ocisig.LayoutBundle) // no log entry
	keyless := w.Push("acme/app:keyless")
	w.Sign(keyless, keyless, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	unsigned := w.Push("acme/app:unsigned")
	pub, root := filepath.Join(w.Dir, "cosign.pub"), filepath.Join(w.Dir, "trusted_root.json")
	const san = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
	const issuer = "https://token.actions.githubusercontent.com"
	pem, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"SIGNET_TEST_PUBLIC_KEY=" + string(pem)}
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"--key refuses a signature without a log entry, as cosign", []string{"--key", pub, "--trusted-root", root, keySigned.String()}, 1, ""},
		{"--key --insecure-ignore-tlog accepts it", []string{"--key", pub, "--insecure-ignore-tlog", keySigned.String()}, 0, ""},
		{"--key env://VAR reads the public key from the variable", []string{"--key", "env://SIGNET_TEST_PUBLIC_KEY", "--insecure-ignore-tlog", keySigned.String()}, 0, ""},
		{"--key refuses an unsigned image", []string{"--key", pub, "--insecure-ignore-tlog", unsigned.String()}, 1, ""},
		{"--key refuses a keyless signature", []string{"--key", pub, "--insecure-ignore-tlog", keyless.String()}, 1, ""},
		{"--certificate-identity accepts the exact SAN", []string{"--certificate-identity", san, "--certificate-oidc-issuer", issuer, "--trusted-root", root, keyless.String()}, 0, ""},
		{"--certificate-identity refuses another SAN", []string{"--certificate-identity", strings.Replace(san, "main", "dev", 1), "--certificate-oidc-issuer", issuer, "--trusted-root", root, keyless.String()}, 1, ""},
		{"--certificate-identity-regexp accepts an anchored match", []string{"--certificate-identity-regexp", `^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/heads/.*$`, "--certificate-oidc-issuer", issuer, "--trusted-root", root, keyless.String()}, 0, ""},
		{"--certificate-identity refuses a key signature", []string{"--certificate-identity", san, "--certificate-oidc-issuer", issuer, "--trusted-root", root, keySigned.String()}, 1, ""},
		{"an issuer-wide regexp is refused as in a trust file", []string{"--certificate-identity-regexp", `^https://github\.com/.*$`, "--certificate-oidc-issuer", issuer, keyless.String()}, 2, "accepts every repository of issuer"},
		{"an unanchored regexp is refused", []string{"--certificate-identity-regexp", "acme/app", "--certificate-oidc-issuer", issuer, keyless.String()}, 2, "must be anchored"},
		{"an identity without its issuer is refused", []string{"--certificate-identity", san, keyless.String()}, 2, "--certificate-oidc-issuer is required"},
		{"a trust file and a key are refused together", []string{"--policy", w.PolicyPath, "--key", pub, keySigned.String()}, 2, "exclude each other"},
		{"--insecure-ignore-tlog without an identity flag is refused", []string{"--policy", w.PolicyPath, "--insecure-ignore-tlog", keySigned.String()}, 2, "goes with --key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := runSign(t, env, append([]string{"verify"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d, want %d (stderr should contain %q):\n%s%s", code, c.code, c.stderr, out, stderr)
			}
		})
	}
}

// TestVerifyManifests: `sign verify -f` decides every image of every
// workload in the files, stdin and directories it is given, with the
// engine and exit codes of `sign verify`.
func TestVerifyManifests(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	signed := w.Push("acme/app:1")
	w.Sign(signed, signed, w.KeySigner(nil), ocisig.LayoutBundle)
	w.Push("acme/app:unsigned")
	w.Push("vendor/db:16")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "REG", w.Registry)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good/app.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: app, image: REG/acme/app:1}]
      initContainers: [{name: db-wait, image: REG/vendor/db:16}]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: shop}
`)
	bad := write("bad.yaml", `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, image: REG/acme/app:unsigned}]
`)
	t.Run("signed and third-party images pass, with a note for the Service", func(t *testing.T) {
		out, stderr, code := runSign(t, nil, "verify", "-p", w.PolicyPath, "-f", good)
		if code != 0 || !strings.Contains(out, "ALLOW") || !strings.Contains(out, "Service app: not checked") || !strings.HasPrefix(lastLine(out), "PASS: 2 images in 1 objects") {
			t.Fatalf("exit %d:\n%s%s", code, out, stderr)
		}
	})
	t.Run("an unsigned image in a CronJob fails the check with exit 1", func(t *testing.T) {
		out, _, code := runSign(t, nil, "verify", "-p", w.PolicyPath, "-f", dir)
		if code != 1 || !strings.Contains(out, "DENY             container job: "+w.Registry+"/acme/app:unsigned") || !strings.HasPrefix(lastLine(out), "FAIL") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("stdin, as JSON", func(t *testing.T) {
		body, err := os.ReadFile(bad)
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, code := runSignStdin(t, string(body), "verify", "-p", w.PolicyPath, "-o", "json", "-f", "-")
		var r manifest.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || r.Allowed || len(r.Objects) != 1 ||
			r.Objects[0].Source != "<stdin>" || r.Objects[0].Images[0].Result != manifest.Deny {
			t.Fatalf("exit %d (%v):\n%s%s", code, err, out, stderr)
		}
	})
	t.Run("invalid YAML is a usage error naming the line and column", func(t *testing.T) {
		broken := write("broken.yaml", "kind: Pod\nmetadata: {name: x\n")
		_, stderr, code := runSign(t, nil, "verify", "-p", w.PolicyPath, "-f", broken)
		if code != 2 || !strings.Contains(stderr, broken+":2:11: invalid YAML") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("images and -f together are refused", func(t *testing.T) {
		if _, _, code := runSign(t, nil, "verify", "-p", w.PolicyPath, "-f", good, signed.String()); code != 2 {
			t.Fatalf("exit %d", code)
		}
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
