package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/test/testworld"
)

// TestKeyPairSignImageThroughTheBinary: a key made by generate-key-pair
// signs an image, and the post-check (the cluster's engine) allows it.
func TestKeyPairSignImageThroughTheBinary(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	w.Push("acme/app:1.0")
	prefix := filepath.Join(w.Dir, "cosign") // replaces the policy's release-key
	env := []string{"COSIGN_PASSWORD=hunter2"}
	if _, stderr, code := runSign(t, env, "generate-key-pair", "--force", "--output-key-prefix", prefix); code != 0 {
		t.Fatalf("generate-key-pair exit %d: %s", code, stderr)
	}
	stdout, stderr, code := runSign(t, append(env, "SIGNET_TLOG_UPLOAD=false"), "image", "--policy", w.PolicyPath,
		"--key", prefix+".key", "--output", "json", w.Ref("acme/app:1.0"))
	if code != 0 {
		t.Fatalf("sign image exit %d:\n%s\n%s", code, stdout, stderr)
	}
	var res sign.Report
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if res.Decision == nil || !res.Decision.Allowed || len(res.Signed) != 1 || res.Signed[0].Bundle == "" || res.Signed[0].LegacyTag == "" {
		t.Fatalf("want both layouts and an allowed post-check:\n%s", stdout)
	}
	if !strings.Contains(stderr, "is a tag") {
		t.Fatalf("signing a tag must warn:\n%s", stderr)
	}

	// A re-run replaces its own signature in both layouts and says so.
	stdout, stderr, code = runSign(t, append(env, "SIGNET_TLOG_UPLOAD=false"), "image", "--policy", w.PolicyPath,
		"--key", prefix+".key", w.Ref("acme/app:1.0"))
	if code != 0 || strings.Count(stdout, "replacing 1 earlier of this signer") != 2 {
		t.Fatalf("re-run exit %d: want both layouts to say they replaced our earlier signature:\n%s\n%s", code, stdout, stderr)
	}

	_, stderr, code = runSign(t, []string{"COSIGN_PASSWORD=wrong", "SIGNET_TLOG_UPLOAD=false"}, "image", "--policy", w.PolicyPath,
		"--key", prefix+".key", w.Ref("acme/app:1.0"))
	if code == 0 || !strings.Contains(stderr, "wrong password") {
		t.Fatalf("wrong password: exit %d, stderr %s", code, stderr)
	}
}

func TestAttestRefusesOutsideCIWithoutPredicate(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	w.Push("acme/app:1.0")
	prefix := filepath.Join(t.TempDir(), "k")
	env := []string{"COSIGN_PASSWORD=x", "GITHUB_ACTIONS=", "GITLAB_CI="}
	runSign(t, env, "generate-key-pair", "--output-key-prefix", prefix)
	_, stderr, code := runSign(t, env, "attest", "--policy", w.PolicyPath, "--key", prefix+".key", w.Ref("acme/app:1.0"))
	if code != 2 || !strings.Contains(stderr, "--predicate FILE --type TYPE") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
