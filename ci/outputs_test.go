package ci

import (
	"os"
	"path/filepath"
	"testing"
)

// TestGitLabDotenvNamesArePrefixed: a dotenv report's variables override
// later jobs' own variables of the same name, so sign's are SIGNET_*: a
// deploy job's IMAGE stays its own.
func TestGitLabDotenvNamesArePrefixed(t *testing.T) {
	dotenv := filepath.Join(t.TempDir(), "signet.env")
	env := func(k string) string { return map[string]string{"GITLAB_CI": "true", "CI": "true"}[k] }
	o := Outputs{Values: map[string]string{"digest": "sha256:ab", "image": "reg/app@sha256:ab", "signed_digests": "sha256:ab,sha256:cd"}}
	if _, err := o.Write(env, dotenv); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dotenv)
	if err != nil {
		t.Fatal(err)
	}
	want := "SIGNET_DIGEST=sha256:ab\nSIGNET_IMAGE=reg/app@sha256:ab\nSIGNET_SIGNED_DIGESTS=sha256:ab,sha256:cd\n"
	if string(got) != want {
		t.Fatalf("dotenv:\n%s\nwant:\n%s", got, want)
	}
}
