package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/test/testworld"
)

// rekorV2Config is a signing config naming url as a Rekor v2 log.
func rekorV2Config(t *testing.T, url string) string {
	t.Helper()
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02, nil, nil,
		[]root.Service{{URL: url, MajorAPIVersion: 2, ValidityPeriodStart: time.Now().Add(-time.Hour), Operator: "test"}},
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}, nil, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSignImageNeverHangsOnAService: `sign image` against a GitHub Actions
// token endpoint, a Fulcio, a Rekor v1, a Rekor v2 or a TSA that accepts
// and never answers exits
// non-zero within --retries × --request-timeout (plus backoff), and says
// which service did not answer.
func TestSignImageNeverHangsOnAService(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	image := w.Push("acme/app:hang").String()
	prefix := filepath.Join(t.TempDir(), "k")
	env := []string{"COSIGN_PASSWORD=x", "GITHUB_ACTIONS=", "GITLAB_CI="}
	if _, stderr, code := runSign(t, env, "generate-key-pair", "--output-key-prefix", prefix); code != 0 {
		t.Fatal(stderr)
	}
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://token.actions.githubusercontent.com","sub":"repo:acme/app:ref:refs/heads/main","aud":"sigstore"}`))
	tok := "eyJhbGciOiJub25lIn0." + claims + ".c2ln"
	const bound = 8 * time.Second
	for _, c := range []struct {
		name, want string
		args       func(url string) []string
		env        func(url string) []string
	}{
		{"GitHub Actions token endpoint", "GitHub Actions token endpoint: no answer within 200ms", func(string) []string { return nil },
			func(u string) []string {
				return []string{"GITHUB_ACTIONS=true", "ACTIONS_ID_TOKEN_REQUEST_URL=" + u, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=x"}
			}},
		{"Fulcio", "Fulcio: no answer within 200ms", func(u string) []string {
			return []string{"--identity-token", tok, "--fulcio-url", u, "--tlog-upload=false"}
		}, nil},
		{"Rekor v1", "Rekor v1 ", func(u string) []string { return []string{"--key", prefix + ".key", "--rekor-url", u} }, nil},
		{"Rekor v2", "Rekor v2 ", func(u string) []string {
			return []string{"--key", prefix + ".key", "--signing-config", rekorV2Config(t, u)}
		}, nil},
		{"timestamp authority", "timestamp authority", func(u string) []string {
			return []string{"--key", prefix + ".key", "--tlog-upload=false", "--timestamp-url", u + "/api/v1/timestamp"}
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			hang := testworld.NewHang(t).URL
			args := append([]string{"image", "--request-timeout", "200ms", "--retries", "2", "--format", "bundle"}, c.args(hang)...)
			runEnv := env
			if c.env != nil {
				runEnv = append(slices.Clone(env), c.env(hang)...)
			}
			start := time.Now()
			_, stderr, code := runSign(t, runEnv, append(args, image)...)
			if elapsed := time.Since(start); elapsed > bound {
				t.Fatalf("sign image took %s, want under %s", elapsed, bound)
			}
			if code == 0 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "no answer within 200ms") {
				t.Fatalf("exit %d, want a failure naming %q:\n%s", code, c.want, stderr)
			}
		})
	}
}
