package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CosignV2 returns the path of the cosign v2.6.5 CLI, building it on first use.
func CosignV2(t testing.TB) string { return ensureTool(t, ToolCosignV2) }

// CosignV3 returns the path of the cosign v3.1.3 CLI, building it on first use.
func CosignV3(t testing.TB) string { return ensureTool(t, ToolCosignV3) }

// Kubectl returns the path of kubectl v1.37.2, building it on first use.
func Kubectl(t testing.TB) string { return ensureTool(t, ToolKubectl) }

// Helm returns the path of the helm v3 CLI, building it on first use.
func Helm(t testing.TB) string { return ensureTool(t, ToolHelm) }

func ensureTool(t testing.TB, tl Tool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	p, err := tl.Ensure(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// CosignPassword encrypts keys made by CosignGenerateKeyPair.
const CosignPassword = "signet-test"

// CosignEnv is a hermetic environment for cosign: private HOME and TUF_ROOT, and a
// dead HTTP(S) proxy so any attempt to reach beyond loopback (the public TUF
// repository, public Rekor) fails fast instead of silently succeeding.
func CosignEnv(t testing.TB, extra ...string) []string {
	home := t.TempDir()
	return append([]string{
		"HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"), "PATH=/usr/bin:/bin",
		"TMPDIR=" + home, "COSIGN_PASSWORD=" + CosignPassword, "COSIGN_YES=true",
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}, extra...)
}

// RunCosign runs bin with env in a fresh temp dir and returns its combined output.
func RunCosign(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	return runCLI(ctx, bin, env, args...)
}

// runCLI runs a peer's CLI (cosign, notation) with env and returns its
// combined output; the error quotes it, with identity tokens redacted.
func runCLI(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(redact(args), " "), err, out)
	}
	return string(out), nil
}

func cosignT(t testing.TB, bin string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	out, err := RunCosign(ctx, bin, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s: %s", filepath.Base(bin), args[0], time.Since(t0).Round(time.Millisecond))
	return out
}

// cosignMajor tells v2 from v3 by the cached binary name (cosign-v3.x.y).
func cosignMajor(bin string) int {
	if strings.HasPrefix(filepath.Base(bin), "cosign-v3") {
		return 3
	}
	return 2
}

// CosignGenerateKeyPair writes cosign.key/cosign.pub (password CosignPassword) into a temp dir.
func CosignGenerateKeyPair(t testing.TB, bin string) (keyPath, pubPath string) {
	t.Helper()
	dir := t.TempDir()
	cosignT(t, bin, CosignEnv(t), "generate-key-pair", "--output-key-prefix="+filepath.Join(dir, "cosign"))
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}

// signArgs are the service flags for signing against this stack. cosign v3 reads
// everything from the signing config; v2 gets Fulcio and the TSA explicitly and
// skips the transparency log (v2 cannot write to Rekor v2) and SCT checks (no CT log).
func (s *Stack) cosignSignArgs(bin string) []string {
	if cosignMajor(bin) == 3 {
		args := []string{"--signing-config=" + s.SigningConfigPath, "--trusted-root=" + s.TrustedRootPath}
		if s.Rekor == nil {
			args = append(args, "--tlog-upload=false")
		}
		return args
	}
	args := []string{"--tlog-upload=false"}
	if s.Fulcio != nil {
		args = append(args, "--fulcio-url="+s.Fulcio.URL, "--insecure-skip-verify")
	}
	if s.TSA != nil {
		args = append(args, "--timestamp-server-url="+s.TSA.TimestampURL())
	}
	return args
}

// CosignVerifyArgs trust exactly this stack's trusted root, with what the
// cosign at bin needs to accept what it signs here (cosign v2: no log
// entry, an RFC 3161 timestamp; neither: an SCT). `sign verify` takes the
// same flags.
func (s *Stack) CosignVerifyArgs(bin string) []string {
	args := []string{"--trusted-root=" + s.TrustedRootPath, "--insecure-ignore-sct"}
	if s.Rekor == nil || cosignMajor(bin) == 2 {
		args = append(args, "--insecure-ignore-tlog")
	}
	if cosignMajor(bin) == 2 && s.TSA != nil {
		args = append(args, "--use-signed-timestamps")
	}
	return args
}

// CosignSignKey signs image (a digest reference) with a cosign key pair.
func CosignSignKey(t testing.TB, bin string, s *Stack, image, keyPath string) string {
	t.Helper()
	args := append([]string{"sign", "--yes", "--key=" + keyPath}, s.cosignSignArgs(bin)...)
	if cosignMajor(bin) == 2 {
		args = slicesDelete(args, "--insecure-skip-verify")
	}
	return cosignT(t, bin, CosignEnv(t), append(args, image)...)
}

// CosignAttestKey attaches predicate (a file) to image as a signed in-toto
// attestation of predicateType (cosign's --type), with a cosign key pair.
func CosignAttestKey(t testing.TB, bin string, s *Stack, image, keyPath, predicateType, predicate string) string {
	t.Helper()
	args := append([]string{"attest", "--yes", "--key=" + keyPath, "--type=" + predicateType, "--predicate=" + predicate},
		s.cosignSignArgs(bin)...)
	if cosignMajor(bin) == 2 {
		args = slicesDelete(args, "--insecure-skip-verify")
	}
	return cosignT(t, bin, CosignEnv(t), append(args, image)...)
}

// CosignSignKeyless signs image with a Fulcio certificate for idToken.
func CosignSignKeyless(t testing.TB, bin string, s *Stack, image, idToken string) string {
	t.Helper()
	args := append([]string{"sign", "--yes", "--identity-token=" + idToken}, s.cosignSignArgs(bin)...)
	return cosignT(t, bin, CosignEnv(t), append(args, image)...)
}

// CosignVerifyKey runs `cosign verify --key`; the error carries cosign's output.
func CosignVerifyKey(t testing.TB, bin string, s *Stack, image, pubPath string) (string, error) {
	args := append([]string{"verify", "--key=" + pubPath}, s.CosignVerifyArgs(bin)...)
	return RunCosign(context.Background(), bin, CosignEnv(t), append(args, image)...)
}

// CosignVerifyKeyless runs `cosign verify` for an exact identity (SAN) and issuer.
func CosignVerifyKeyless(t testing.TB, bin string, s *Stack, image, identity, issuer string) (string, error) {
	args := append([]string{"verify", "--certificate-identity=" + identity, "--certificate-oidc-issuer=" + issuer},
		s.CosignVerifyArgs(bin)...)
	return RunCosign(context.Background(), bin, CosignEnv(t), append(args, image)...)
}

// CosignVerify runs `cosign verify ARGS IMAGE`; the error carries cosign's output.
func CosignVerify(t testing.TB, bin, image string, args ...string) (string, error) {
	return RunCosign(context.Background(), bin, CosignEnv(t), append(append([]string{"verify"}, args...), image)...)
}

func slicesDelete(s []string, v string) []string {
	var out []string
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// redact hides identity tokens so failures stay readable.
func redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if k, _, ok := strings.Cut(a, "="); ok && k == "--identity-token" {
			a = k + "=<redacted>"
		}
		out[i] = a
	}
	return out
}
