package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// rerun signs and attests one image the same way on every call, as a CI
// job that is retried does: keyless (a new certificate each time, one
// identity) or with the world's key.
type rerun struct {
	w       *testworld.World
	keyless bool
	fulcio  string
	tsa     string
	policy  *policy.Policy
}

func newRerun(t *testing.T, w *testworld.World, keyless bool) *rerun {
	r := &rerun{w: w, keyless: keyless, policy: loadPolicy(t, w)}
	if keyless {
		fs, _ := fakeFulcio(t, w.Sigstore, 0)
		r.fulcio, r.tsa = fs.URL, fakeTSA(t, w.Sigstore)
	}
	return r
}

func (r *rerun) run(t *testing.T, image string) *Result {
	t.Helper()
	cfg, req := r.request(t, image)
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s, req)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// request is one run's session config and request.
func (r *rerun) request(t *testing.T, image string) (Config, Request) {
	t.Helper()
	cfg := Config{Backoff: time.Millisecond}
	req := Request{Image: image, Format: FormatBoth, Sign: true, Policy: r.policy, PostCheck: NewPostCheck()}
	if r.keyless {
		tok, c, sum := ciIdentity(t, githubClaims("acme/app", "refs/heads/main"))
		cfg.IDToken, cfg.FulcioURL, cfg.TSAURLs = tok, r.fulcio, []string{r.tsa}
		req.Signer = Signer{Certificate: &sum}
		req.Attest = provenance(t, c)
	} else {
		cfg.Key = worldKey(t, r.w)
		req.Signer = Signer{Key: cfg.Key}
		req.Attest = []attest.Predicate{{Type: "https://example.com/sbom", JSON: json.RawMessage(`{"packages":[]}`)}}
	}
	return cfg, req
}

// entries are the keys of everything attached to a digest, by layout and
// kind (bundles by predicate type, since signatures and attestations are
// all bundles there).
func entries(t *testing.T, d name.Digest) map[string][]string {
	t.Helper()
	found, err := ocisig.Fetch(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, l := range found.Legacy {
		k := "legacy " + string(l.Kind)
		out[k] = append(out[k], l.Signature+string(l.Payload))
	}
	for _, b := range found.Bundles {
		k := "bundle " + b.PredicateType
		out[k] = append(out[k], b.Manifest.String())
	}
	return out
}

// TestResigningKeepsOneEntryPerLayout: the same signing (a signature and
// an attestation, both layouts) runs again and again: 70 times, more than
// the 64 entries readers accept, in one case (the in-process registry's
// referrers listing gets slower with every manifest; test/e2e runs 70 on
// both real layouts), 3 times in the others. Every re-run replaces its own
// earlier entry and says so, the image stays allowed, and each layout holds
// exactly one entry of ours plus, untouched, those of two other signers
// (another keyless identity and another key) written before.
func TestResigningKeepsOneEntryPerLayout(t *testing.T) {
	for _, reg := range []struct {
		name        string
		noReferrers bool
	}{{"referrers API", false}, {"referrers tag fallback", true}} {
		for _, keyless := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s keyless=%v", reg.name, keyless), func(t *testing.T) {
				w := testworld.New(t, testworld.Options{NoReferrers: reg.noReferrers})
				d := w.Push("acme/prov/app:1")
				if !keyless {
					d = w.Push("acme/app:1")
				}
				otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				predicate := "https://example.com/sbom"
				if keyless {
					predicate = policy.SLSAProvenanceV1
				}
				for _, other := range []*sigstoretest.Signer{w.GitHub("acme/app", "refs/tags/v1.0"), w.KeySigner(otherKey)} {
					for _, l := range []ocisig.Layout{ocisig.LayoutLegacy, ocisig.LayoutBundle} {
						w.Sign(d, d, other, l)
						w.Attest(d, d, other, l, predicate, map[string]any{"by": "someone else"})
					}
				}
				before := entries(t, d)
				r := newRerun(t, w, keyless)
				runs := 3
				if reg.noReferrers && !keyless {
					runs = 70
				}
				for i := range runs {
					res := r.run(t, d.String())
					if !res.Decision.Allowed {
						t.Fatalf("run %d: post-check denied: %v", i+1, res.Decision.Messages())
					}
					want := ocisig.ActionReplaced
					if i == 0 {
						want = ocisig.ActionAdded
					}
					for _, a := range append(res.Signed, res.Attested...) {
						for layout, o := range map[string]*ocisig.Outcome{"bundle": a.BundleWrite, "legacy": a.LegacyWrite} {
							if o == nil || o.Action != want || want == ocisig.ActionReplaced && len(o.Replaced) != 1 {
								t.Fatalf("run %d, %s layout: outcome %+v, want %s (one earlier entry of ours)", i+1, layout, o, want)
							}
						}
					}
				}
				after := entries(t, d)
				for k, theirs := range before {
					if len(after[k]) != len(theirs)+1 {
						t.Errorf("%s: %d entries after %d runs, want the other signers' %d plus one of ours", k, len(after[k]), runs, len(theirs))
					}
					for _, e := range theirs {
						if !slices.Contains(after[k], e) {
							t.Errorf("%s: another signer's entry was removed", k)
						}
					}
				}
			})
		}
	}
}

// TestSameSignerIsTheJobNotTheRun: which earlier certificate counts as this
// run's own identity. A retried run of the same job (another run
// invocation, even another commit) is the same signer; every field a trust
// file can name makes another one, so its entries are never replaced.
func TestSameSignerIsTheJobNotTheRun(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	ours := sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main")
	id := func(f func(*sigstoretest.Identity)) sigstoretest.Identity {
		i := ours
		f(&i)
		return i
	}
	for _, c := range []struct {
		name string
		id   sigstoretest.Identity
		same bool
	}{
		{"a retried run (another run attempt) is the same signer", id(func(i *sigstoretest.Identity) {
			i.Extensions.RunInvocationURI = "https://github.com/acme/app/actions/runs/1/attempts/2"
		}), true},
		{"another commit of the same workflow and ref is the same signer", id(func(i *sigstoretest.Identity) {
			i.Extensions.SourceRepositoryDigest, i.Extensions.BuildConfigDigest, i.Extensions.BuildSignerDigest = "ff", "ff", "ff"
			i.Extensions.GithubWorkflowSHA = "ff"
		}), true},
		{"another ref is another signer", sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/tags/v1"), false},
		{"another repository behind the same reusable workflow is another signer",
			sigstoretest.GitHubReusable("acme/other", "refs/heads/main", "acme/app", ".github/workflows/release.yml", "refs/heads/main"), false},
		{"a self-hosted runner is another signer", id(func(i *sigstoretest.Identity) { i.Extensions.RunnerEnvironment = "self-hosted" }), false},
		{"another trigger is another signer", id(func(i *sigstoretest.Identity) { i.Extensions.BuildTrigger = "pull_request_target" }), false},
		{"another issuer is another signer", id(func(i *sigstoretest.Identity) { i.Extensions.Issuer = "https://gitlab.com" }), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			mine, err := w.Sigstore.Signer(ours)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := w.Sigstore.Signer(c.id)
			if err != nil {
				t.Fatal(err)
			}
			want, err := identityOf(mine.Certificate())
			if err != nil {
				t.Fatal(err)
			}
			m := &sameSigner{identity: want}
			if got := m.certificate(theirs.Certificate().Raw); got != c.same {
				t.Fatalf("same signer = %v, want %v", got, c.same)
			}
		})
	}
}

// TestConcurrentRunsOfOneJobStayBounded: two CI jobs sign the same digest
// with the same identity at the same time, five times each. Every run
// succeeds, the image is allowed afterwards, and no layout ends with more
// than one entry per job (a registry cannot update a tag atomically, so
// each run reads its write back and merges again if a concurrent write
// dropped it; two runs that both list before either writes may both stay,
// never more). The runs skip their post-check: a reader that lists a
// referrer the other job deletes before it is read fails that read (see
// ocisig.Fetch), which says nothing about what the writers left behind.
func TestConcurrentRunsOfOneJobStayBounded(t *testing.T) {
	for _, noReferrers := range []bool{false, true} {
		t.Run(fmt.Sprintf("noReferrers=%v", noReferrers), func(t *testing.T) {
			w := testworld.New(t, testworld.Options{NoReferrers: noReferrers})
			d := w.Push("acme/app:1")
			r := newRerun(t, w, false)
			const jobs, runs = 2, 5
			errs := make(chan error, jobs*runs)
			var wg sync.WaitGroup
			for range jobs {
				cfg, req := r.request(t, d.String())
				req.PostCheck = nil
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range runs {
						s, err := NewSession(cfg)
						if err == nil {
							_, err = Run(context.Background(), s, req)
						}
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("a concurrent run failed: %v", err)
				}
			}
			if dec := verify.New().Verify(context.Background(), d.String(), r.policy); !dec.Allowed {
				t.Fatalf("denied after the concurrent runs: %v", dec.Messages())
			}
			for k, es := range entries(t, d) {
				if len(es) > jobs {
					t.Errorf("%s: %d entries after %d concurrent runs of one job, want at most %d", k, len(es), jobs*runs, jobs)
				}
			}
		})
	}
}

// jobTransport marks a job's requests, so a registry front can interleave
// two jobs deterministically.
type jobTransport struct{ job string }

func (j jobTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Job", j.job)
	return http.DefaultTransport.RoundTrip(r)
}

// TestConcurrentWriterThatDropsOurLayerIsMergedBack: two signers (two
// keys) write the same .sig tag. Job "other" reads the tag, then its write
// is held until job "ours" has written; "ours" reads its write back only
// after "other" overwrote it with a manifest that never saw ours. The read
// back finds our layer gone and merges it in again: both signatures stay.
// (The opposite order, where the overwrite lands after our read-back,
// cannot be detected on a registry without conditional writes.)
func TestConcurrentWriterThatDropsOurLayerIsMergedBack(t *testing.T) {
	otherPutArrived, oursPutDone, otherPutDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var once [3]sync.Once
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sig := strings.HasSuffix(r.URL.Path, ".sig") && strings.Contains(r.URL.Path, "/manifests/")
			job := r.Header.Get("X-Job")
			switch {
			case sig && r.Method == http.MethodPut && job == "other":
				once[0].Do(func() { close(otherPutArrived) })
				<-oursPutDone
				h.ServeHTTP(w, r)
				once[1].Do(func() { close(otherPutDone) })
				return
			case sig && r.Method == http.MethodGet && job == "ours" && isClosed(oursPutDone):
				<-otherPutDone
			case sig && r.Method == http.MethodPut && job == "ours":
				// Recorded first, so the next request of "ours" cannot
				// arrive before the PUT counts as done.
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				once[2].Do(func() { close(oursPutDone) })
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	w := testworld.New(t, testworld.Options{Wrap: wrap})
	d := w.Push("acme/app:1")
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sv, _ := signature.LoadECDSASignerVerifier(otherKey, crypto.SHA256)
	other, _ := NewKeypair(sv, "other key")
	run := func(job string, key *Keypair) error {
		s, err := NewSession(Config{Key: key, Transport: jobTransport{job}, Backoff: time.Millisecond})
		if err != nil {
			return err
		}
		_, err = Run(context.Background(), s, Request{Image: d.String(), Format: FormatLegacy, Sign: true})
		return err
	}
	errs := make(chan error, 2)
	go func() { errs <- run("other", other) }()
	<-otherPutArrived // "other" has read the tag and is about to overwrite it
	go func() { errs <- run("ours", worldKey(t, w)) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(entries(t, d)["legacy signature"]); n != 2 {
		t.Fatalf("%d signatures in the .sig tag, want both signers'", n)
	}
	if dec := verify.New().Verify(context.Background(), d.String(), loadPolicy(t, w)); !dec.Allowed {
		t.Fatalf("our signature was lost: %v", dec.Messages())
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
