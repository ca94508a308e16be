package audit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// Decider decides one image under a policy: verify.Verifier, or enforce's
// Cache in front of one (so the background pass and the webhook share
// decisions and registry limits).
type Decider interface {
	Verify(ctx context.Context, image string, p *policy.Policy) *verify.Decision
}

// RootVersioner reports the trusted root version a policy's decisions are
// made with (verify.Verifier does).
type RootVersioner interface {
	RootVersion(ctx context.Context, p *policy.Policy) (string, error)
}

// Engine decides targets: each distinct reference once per pass, with
// bounded concurrency, remembering decisions in Memo across passes.
type Engine struct {
	Decider Decider
	// Roots, if set, keys the Memo by trusted root version; without it no
	// decision is remembered (a root change could not be noticed).
	Roots RootVersioner
	Memo  *Memo
	// Concurrency bounds the verifications in flight (default 4).
	Concurrency int
	// Credentials, if set, attaches a pod's registry credentials (its pull
	// secrets) to the context of a verification made for it.
	Credentials func(ctx context.Context, pod *Pod) context.Context
	// Progress, if set, is told after each distinct reference is decided.
	Progress func(done, total int)
	Now      func() time.Time

	// Verified counts references sent to the Decider; Remembered those
	// answered from the Memo.
	Verified, Remembered atomic.Int64
}

// Batch is one set of targets to decide under one policy.
type Batch struct {
	Policy  *policy.Policy
	Targets []Target
	// NamespaceMode says how the webhook treats a namespace; nil: by name
	// only, as the trust file lists them.
	NamespaceMode func(namespace string) policy.NamespaceMode
	// ReverifyDenied asks the registry again about remembered denials (a
	// periodic pass: a denial is fixed by signing, not by editing policy).
	ReverifyDenied bool
}

// Decide returns one Finding per target, in the targets' order.
func (e *Engine) Decide(ctx context.Context, pass Batch) []Finding {
	p := pass.Policy
	modes := map[string]policy.NamespaceMode{}
	mode := func(ns string) policy.NamespaceMode {
		m, ok := modes[ns]
		if !ok {
			if pass.NamespaceMode != nil {
				m = pass.NamespaceMode(ns)
			} else {
				m = p.Enforcement.NamespaceMode(ns, nil)
			}
			modes[ns] = m
		}
		return m
	}
	out := make([]Finding, len(pass.Targets))
	byRef := map[string][]int{}
	var refs []string
	for i, t := range pass.Targets {
		out[i] = Finding{Namespace: t.Pod.Namespace, Pod: t.Pod.Name, PodUID: string(t.Pod.UID), Workload: t.Pod.Workload,
			Container: t.Container, Image: t.Image, Digest: t.Digest, DigestFrom: t.DigestFrom, PolicyHash: p.Hash}
		switch {
		case mode(t.Pod.Namespace) == policy.NamespaceExempt:
			out[i].Result, out[i].Reason, out[i].DecidedAt = Skip, "namespace "+t.Pod.Namespace+" is exempt in the trust policy: not verified", e.now()
			continue
		case t.Digest == "":
			out[i].Result, out[i].DecidedAt = Skip, e.now()
			out[i].Reason = "no digest known for what runs: the node reports no image ID and the pod spec pins no digest"
			continue
		}
		ref := t.Ref()
		if ref == "" {
			ref = t.Image // does not parse: the engine explains
		}
		if byRef[ref] == nil {
			refs = append(refs, ref)
		}
		byRef[ref] = append(byRef[ref], i)
	}
	e.each(ctx, refs, func(ref string) {
		idx := byRef[ref]
		d, at := e.decide(ctx, pass, ref, pass.Targets[idx[0]].Pod)
		v := readDecision(d)
		for _, i := range idx {
			f := &out[i]
			f.Result, f.Rule, f.Identities, f.Reason, f.DecidedAt = v.result, v.rule, v.identities, v.reason, at
			f.Detail = v.detail
			f.Mode = policy.ModeEnforce
			if v.mode == policy.ModeAudit || mode(f.Namespace) == policy.NamespaceAudit {
				f.Mode = policy.ModeAudit
			}
		}
	})
	return out
}

// each runs f for every ref, Concurrency at a time.
func (e *Engine) each(ctx context.Context, refs []string, f func(string)) {
	n := e.Concurrency
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var done atomic.Int64
	for _, ref := range refs {
		// A done ctx still decides every ref (the Decider fails fast on
		// it), so every target gets a finding.
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(ref)
			if e.Progress != nil {
				e.Progress(int(done.Add(1)), len(refs))
			}
		}()
	}
	wg.Wait()
}

// decide returns the decision for ref and when it was made: from the Memo
// when its rule still means the same, else from the Decider.
func (e *Engine) decide(ctx context.Context, pass Batch, ref string, pod *Pod) (*verify.Decision, time.Time) {
	p := pass.Policy
	t, key := e.key(ctx, p, ref)
	if key != "" {
		if d, at, ok := e.Memo.get(key, e.now(), pass.ReverifyDenied); ok {
			e.Remembered.Add(1)
			return t.Present(d), at
		}
	}
	vctx := ctx
	if e.Credentials != nil {
		vctx = e.Credentials(ctx, pod)
	}
	e.Verified.Add(1)
	d := e.Decider.Verify(vctx, ref, p)
	at := e.now()
	if key != "" {
		e.Memo.put(key, d, at)
	}
	return d, at
}

// Seed remembers a decision the webhook made at admission, so the
// background pass that then sees the admitted pod need not ask again.
func (e *Engine) Seed(ctx context.Context, p *policy.Policy, d *verify.Decision) {
	if e.Memo == nil || !seedable(d) || d.PolicyHash != p.Hash {
		return
	}
	ref, err := name.ParseReference(d.Image)
	if err != nil {
		return
	}
	if _, key := e.key(ctx, p, ref.Context().Name()+"@"+d.Digest); key != "" {
		e.Memo.put(key, d, e.now())
	}
}

// key is the target ref names under p and its Memo key (verify's
// Target.Key, the one the webhook's cache keeps decisions by), "" when
// nothing may be remembered: no Memo or root version, or a decision the
// policy makes alone (no rule, a deny rule).
func (e *Engine) key(ctx context.Context, p *policy.Policy, ref string) (verify.Target, string) {
	if e.Memo == nil || e.Roots == nil {
		return verify.Target{}, ""
	}
	s, d := verify.Prepare(ref, p)
	dg, ok := s.Ref.(name.Digest)
	if d != nil || !ok {
		return verify.Target{}, ""
	}
	root, err := e.Roots.RootVersion(ctx, p)
	if err != nil {
		return verify.Target{}, ""
	}
	t := verify.Target{Subject: s, Digest: dg}
	return t, t.Key(root)
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}
