package citest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	signedRepo   = "registry.example/acme/hello"
	signedDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// hostileVariables are CI/CD variables an attacker who may set pipeline
// variables (or write a dotenv report a job needs) would set: each would
// redirect the OIDC token, swap what is signed or skip a check if `sign`
// read it (every sign flag has a SIGNET_ variable).
var hostileVariables = []string{
	"SIGNET_FULCIO_URL=https://fulcio.evil.example", "SIGNET_REKOR_URL=https://rekor.evil.example",
	"SIGNET_TIMESTAMP_URL=https://tsa.evil.example", "SIGNET_SIGNING_CONFIG=/evil/signing_config.json",
	"SIGNET_IDENTITY_TOKEN_FILE=/evil/token", "SIGNET_IMAGE=registry.example/evil/app@" + signedDigest,
	"SIGNET_NO_POST_CHECK=true", "SIGNET_POLICY=/evil/allow-all.yaml", "SIGNET_ATTEST=false", "SIGNET_FORMAT=legacy",
	"SIGNET_OFFLINE=true", "SSL_CERT_FILE=/evil/ca.pem", "SSL_CERT_DIR=/evil/certs", "SIGNET_KEY=/evil/cosign.key",
}

// runSignJob runs the sign job's script under sh in a workspace holding the
// build job's artifact (none when artifact is ""), with a stand-in `sign`
// that records its arguments and environment. It returns them (nil if sign
// never ran) and the error.
func runSignJob(t *testing.T, inputs map[string]string, artifact string, env ...string) (argv, signEnv []string, err error) {
	t.Helper()
	dir, bin := t.TempDir(), t.TempDir()
	// Like sign, the stand-in writes the dotenv report (--dotenv signet.env).
	writeFile(t, bin, "sign", []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$RECORD.argv\"\nenv > \"$RECORD.env\"\necho SIGNET_DIGEST=stand-in > signet.env\n"))
	if err := os.Chmod(filepath.Join(bin, "sign"), 0o755); err != nil {
		t.Fatal(err)
	}
	if artifact != "" {
		writeFile(t, dir, "signet-image.ref", []byte(artifact+"\n"))
	}
	record := filepath.Join(t.TempDir(), "sign")
	cmd := exec.Command("sh", "-e", "-c", strings.Join(jobs(t, inputs)["signet-sign"].Script, "\n"))
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(),
		"CI=true", "GITLAB_CI=true", "CI_REGISTRY_IMAGE=" + signedRepo, "CI_PROJECT_PATH=acme/hello",
		"CI_JOB_TOKEN=job-token-secret", "SIGSTORE_ID_TOKEN=the-jobs-oidc-token", "HTTPS_PROXY=http://proxy.corp.example:3128"}, env...)
	// RECORD is not passed on by the job's env -i: the stand-in finds it in its own file name.
	script := readFile(t, filepath.Join(bin, "sign"))
	writeFile(t, bin, "sign", []byte(strings.ReplaceAll(string(script), "$RECORD", record)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("sign job:\n%s", out)
	}
	if b, rerr := os.ReadFile(record + ".argv"); rerr == nil {
		argv = strings.Split(strings.TrimSpace(string(b)), "\n")
		signEnv = strings.Split(strings.TrimSpace(string(readFile(t, record+".env"))), "\n")
	}
	return argv, signEnv, err
}

// TestGitLabSignJobIgnoresVariables: whatever CI/CD variables are set (a
// pipeline variable outranks the job's own), the sign job signs the digest
// from the build job's artifact, with the component's inputs as flags, and
// `sign` gets no SIGNET_* variable and no TLS trust setting: nothing can
// send the job's OIDC token elsewhere, swap the image or the trust file, or
// skip the post-check.
func TestGitLabSignJobIgnoresVariables(t *testing.T) {
	ref := signedRepo + "@" + signedDigest
	t.Run("keyless, with hostile variables set", func(t *testing.T) {
		argv, env, err := runSignJob(t, nil, ref, hostileVariables...)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"image", "--policy", "trust.yaml", "--attest=true", "--dotenv", "signet.env", ref}; !slices.Equal(argv, want) {
			t.Errorf("sign %q, want sign %q", argv, want)
		}
		for _, kv := range env {
			name, _, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(name, "SIGNET_") || strings.HasPrefix(name, "SSL_CERT") || name == "CI_JOB_TOKEN" {
				t.Errorf("sign's environment has %s", kv)
			}
		}
		for _, want := range []string{"SIGSTORE_ID_TOKEN=the-jobs-oidc-token", "CI_PROJECT_PATH=acme/hello", "HTTPS_PROXY=http://proxy.corp.example:3128"} {
			if !slices.Contains(env, want) {
				t.Errorf("sign's environment lacks %s: %v", want, env)
			}
		}
	})
	t.Run("a private Sigstore comes from the signing-config input only", func(t *testing.T) {
		argv, _, err := runSignJob(t, map[string]string{"signing-config": "sigstore/signing_config.json"}, ref, hostileVariables...)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.Index(argv, "--signing-config"); i < 0 || argv[i+1] != "sigstore/signing_config.json" || slices.Contains(argv, "/evil/signing_config.json") {
			t.Errorf("sign %q, want --signing-config sigstore/signing_config.json", argv)
		}
	})
	t.Run("key signing: the File variable's key, no OIDC token", func(t *testing.T) {
		key := filepath.Join(t.TempDir(), "cosign.key")
		writeFile(t, filepath.Dir(key), "cosign.key", []byte("key"))
		argv, env, err := runSignJob(t, map[string]string{"signing": "key"}, ref, append(hostileVariables, "SIGNET_KEY_FILE="+key, "COSIGN_PASSWORD=pw")...)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.Index(argv, "--key"); i < 0 || argv[i+1] != key {
			t.Errorf("sign %q, want --key %s", argv, key)
		}
		if !slices.Contains(env, "COSIGN_PASSWORD=pw") || slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "SIGSTORE_ID_TOKEN=") }) {
			t.Errorf("sign's environment %v: want COSIGN_PASSWORD and no SIGSTORE_ID_TOKEN", env)
		}
	})
	t.Run("key signing: cosign's COSIGN_PRIVATE_KEY variable, through env://", func(t *testing.T) {
		argv, env, err := runSignJob(t, map[string]string{"signing": "key"}, ref, append(hostileVariables, "COSIGN_PRIVATE_KEY=the-pem", "COSIGN_PASSWORD=pw")...)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.Index(argv, "--key"); i < 0 || argv[i+1] != "env://COSIGN_PRIVATE_KEY" || !slices.Contains(env, "COSIGN_PRIVATE_KEY=the-pem") {
			t.Errorf("sign %q with %v, want --key env://COSIGN_PRIVATE_KEY and the key in its environment", argv, env)
		}
	})
	t.Run("key signing without a key variable is a clear error", func(t *testing.T) {
		_, _, err := runSignJob(t, map[string]string{"signing": "key"}, ref)
		if err == nil {
			t.Fatal("the job ran without a key")
		}
	})
	t.Run("the digest input signs that digest of the image input, with no build job", func(t *testing.T) {
		other := "sha256:" + strings.Repeat("f", 64)
		argv, _, err := runSignJob(t, map[string]string{"image": signedRepo, "digest": other}, "", hostileVariables...)
		if err != nil {
			t.Fatal(err)
		}
		if argv[len(argv)-1] != signedRepo+"@"+other {
			t.Errorf("sign %q, want %s@%s", argv, signedRepo, other)
		}
	})
	t.Run("builder none: the sign job signs what your job's artifact names", func(t *testing.T) {
		argv, _, err := runSignJob(t, map[string]string{"image": signedRepo, "builder": "none"}, ref)
		if err != nil || argv[len(argv)-1] != ref {
			t.Errorf("sign %q (%v), want %s", argv, err, ref)
		}
	})
	t.Run("builder none with neither an artifact nor a digest is a clear error", func(t *testing.T) {
		if argv, _, err := runSignJob(t, map[string]string{"image": signedRepo, "builder": "none"}, ""); err == nil || argv != nil {
			t.Errorf("the job signed %q (err %v)", argv, err)
		}
	})
	for name, artifact := range map[string]string{
		"an artifact naming another repository is refused": "registry.example/evil/app@" + signedDigest,
		"an artifact naming a tag is refused":              signedRepo + ":latest",
	} {
		t.Run(name, func(t *testing.T) {
			if argv, _, err := runSignJob(t, nil, artifact); err == nil || argv != nil {
				t.Errorf("the job signed %q (err %v)", argv, err)
			}
		})
	}
}
