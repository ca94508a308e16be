package sign

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
)

type keylessRun struct {
	w      *testworld.World
	front  *registryFront
	policy *policy.Policy
	fulcio string
	tsa    string
	logs   []string
}

func newKeylessRun(t *testing.T, fulcioFailures int) (*keylessRun, func() int64) {
	w := testworld.New(t, testworld.Options{})
	f := newFront(t, w)
	p, err := policy.LoadFile(f.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	fs, calls := fakeFulcio(t, w.Sigstore, fulcioFailures)
	return &keylessRun{w: w, front: f, policy: p, fulcio: fs.URL, tsa: fakeTSA(t, w.Sigstore)}, calls.Load
}

func (k *keylessRun) push(t *testing.T, repoTag string) string {
	t.Helper()
	img, _ := random.Image(64, 1)
	ref := k.front.Host + "/" + repoTag
	tag, _ := name.NewTag(ref)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

func (k *keylessRun) run(t *testing.T, image string, claims map[string]any, withProvenance bool) (*Result, error) {
	t.Helper()
	tok, c, sum := ciIdentity(t, claims)
	s, err := NewSession(Config{IDToken: tok, FulcioURL: k.fulcio, TSAURLs: []string{k.tsa}, Backoff: time.Millisecond,
		Log: func(f string, a ...any) { k.logs = append(k.logs, strings.TrimSpace(f)) }})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Image: image, Format: FormatBoth, Sign: true, Policy: k.policy,
		Signer: Signer{Certificate: &sum}, PostCheck: NewPostCheck(), Log: s.log}
	if withProvenance {
		req.Attest = provenance(t, c)
	}
	return Run(context.Background(), s, req)
}

func TestKeylessSignAndAttestIsAllowedByTheEngine(t *testing.T) {
	k, _ := newKeylessRun(t, 0)
	image := k.push(t, "acme/prov/app:1.0")
	res, err := k.run(t, image, githubClaims("acme/app", "refs/heads/main"), true)
	if err != nil {
		if res != nil && res.Decision != nil {
			b, _ := json.MarshalIndent(res.Decision, "", " ")
			t.Logf("%s", b)
		}
		t.Fatal(err)
	}
	d := res.Decision
	if !d.Allowed || len(d.Attestations) == 0 || d.Signatures[0].Identity != "app-release" {
		b, _ := json.MarshalIndent(d, "", " ")
		t.Fatalf("post-check decision:\n%s", b)
	}
}

func TestFulcioAnswering503TwiceThenSucceeds(t *testing.T) {
	k, calls := newKeylessRun(t, 2)
	image := k.push(t, "acme/app:retry")
	if _, err := k.run(t, image, githubClaims("acme/app", "refs/heads/main"), false); err != nil {
		t.Fatal(err)
	}
	if calls() != 3 {
		t.Fatalf("Fulcio saw %d requests, want 3 (two 503s, one success): one certificate per run", calls())
	}
	retries := 0
	for _, l := range k.logs {
		if strings.Contains(l, "retrying") {
			retries++
		}
	}
	if retries != 2 {
		t.Fatalf("want each retry logged, got %q", k.logs)
	}
}

func TestPreflightRefusesBeforeAnyPush(t *testing.T) {
	for _, c := range []struct {
		name, repo, ref, field string
	}{
		{"a trusted repository on an untrusted ref", "acme/app", "refs/heads/feature", "refs"},
		{"acme-evil where acme is trusted", "acme-evil/app", "refs/heads/main", "repository"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, calls := newKeylessRun(t, 0)
			image := k.push(t, "acme/app:pre")
			before := k.front.Puts()
			res, err := k.run(t, image, githubClaims(c.repo, c.ref), false)
			if !errors.Is(err, ErrPreflight) {
				t.Fatalf("want a preflight refusal, got %v", err)
			}
			if k.front.Puts() != before || calls() != 0 {
				t.Fatalf("preflight let the run touch the registry (%d new manifests) or Fulcio (%d calls)", k.front.Puts()-before, calls())
			}
			found := false
			for _, p := range res.Preflight.Problems {
				found = found || p.Field == c.field
			}
			if !found {
				t.Fatalf("no %s problem in %+v", c.field, res.Preflight.Problems)
			}
		})
	}
}

func TestRegistryRefusingThePushFailsWithItsMessage(t *testing.T) {
	k, _ := newKeylessRun(t, 0)
	image := k.push(t, "acme/app:frozen")
	k.front.refuse.Store(true)
	_, err := k.run(t, image, githubClaims("acme/app", "refs/heads/main"), false)
	if err == nil || !strings.Contains(err.Error(), "push to acme/app is frozen by the registry admin") {
		t.Fatalf("want the registry's own message, got %v", err)
	}
}
