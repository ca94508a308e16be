package scan

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// Engine decides targets: each distinct reference once per pass, with
// bounded concurrency, through a verify.Decider (the engine's flow; in
// enforce, the webhook's Cache, whose decision store remembers decisions
// across passes and admissions).
type Engine struct {
	Decider verify.Decider
	// Concurrency bounds the verifications in flight (default 4).
	Concurrency int
	// Credentials, if set, returns a pod's registry credentials (its pull
	// secrets), for the requests made for it.
	Credentials func(ctx context.Context, pod *Pod) authn.Keychain
	// Background marks every request as background work: no admission
	// waits for it (enforce's background verifier).
	Background bool
	// Progress, if set, is told after each distinct reference is decided.
	Progress func(done, total int)
	Now      func() time.Time
}

// Batch is one set of targets to decide under one policy.
type Batch struct {
	Policy  *policy.Policy
	Targets []Target
	// NamespaceMode says how the webhook treats a namespace; nil: by name
	// only, as the trust file lists them.
	NamespaceMode func(namespace string) policy.NamespaceMode
	// ReverifyDenied asks the registry again about remembered denials (a
	// periodic pass: a denial is fixed by signing, not by editing policy;
	// verify.Request.ReverifyDenied).
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
		d := e.decide(ctx, pass, ref, pass.Targets[idx[0]].Pod)
		for _, i := range idx {
			out[i].read(d.InNamespace(mode(out[i].Namespace)))
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

// decide returns the decision for ref, made for pod.
func (e *Engine) decide(ctx context.Context, pass Batch, ref string, pod *Pod) *verify.Decision {
	req := verify.Request{Image: ref, Policy: pass.Policy, Background: e.Background, ReverifyDenied: pass.ReverifyDenied}
	if e.Credentials != nil {
		req.Keychain = e.Credentials(ctx, pod)
	}
	return e.Decider.Decide(ctx, req)
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}
