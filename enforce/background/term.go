package background

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/scan"
)

// Triggers of a full pass (the metrics' trigger label).
const (
	TriggerStart    = "start"
	TriggerPolicy   = "policy"
	TriggerRoot     = "trusted-root"
	TriggerPeriodic = "periodic"
)

// term is one leadership term: a pod cache, what was found per pod, and
// the loop that keeps the reports current.
type term struct {
	s     *Scanner
	store cache.Store
	// dirty pods ("namespace/name") changed since they were last decided.
	dirty chan string
	pods  map[string]*podState
	// policyHash and root are what the last full pass decided under.
	policyHash, root string
	// stale are namespaces ("" for the cluster) whose reports someone else
	// changed (policyreport.Writer.Watch); watching says the watch runs,
	// else each full pass re-reads the reports.
	stale    chan string
	watching bool
}

type podState struct {
	namespace   string
	fingerprint string
	findings    []scan.Finding
}

// lead runs one term: informers, a first full pass, then changes as they
// come, until ctx ends (leadership lost, or shutdown).
func (s *Scanner) lead(ctx context.Context) {
	if t := s.start(ctx); t != nil {
		t.fullPass(ctx, TriggerStart)
		t.loop(ctx)
	}
}

// Once makes one full pass without leader election, as a new leader's
// first pass: list the pods, read the existing reports, decide everything,
// write what changed. For benchmarks and one-shot runs; a cluster runs Run.
func (s *Scanner) Once(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if t := s.start(ctx); t != nil {
		t.fullPass(ctx, TriggerStart)
	}
}

// start syncs the pod cache and the writer's view of existing reports.
func (s *Scanner) start(ctx context.Context) *term {
	t := &term{s: s, dirty: make(chan string, 4096), pods: map[string]*podState{}}
	factory := informers.NewSharedInformerFactoryWithOptions(s.cfg.Client, 0, informers.WithTransform(slim))
	inf := factory.Core().V1().Pods().Informer()
	t.store = inf.GetStore()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    t.changed,
		UpdateFunc: func(_, obj any) { t.changed(obj) },
		DeleteFunc: t.changed,
	}); err != nil {
		s.cfg.Log.Error("background verifier: watching pods", "err", err)
		return nil
	}
	factory.Start(ctx.Done())
	context.AfterFunc(ctx, factory.Shutdown)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil
	}
	t.stale = make(chan string, 1024)
	if err := s.cfg.Reports.Load(ctx); err != nil {
		s.cfg.Log.Error("background verifier: reading existing reports", "err", err)
	} else if err := s.cfg.Reports.Watch(ctx, t.reportChanged); err != nil {
		s.cfg.Log.Error("background verifier: watching reports (edits are corrected at each full pass instead)", "err", err)
	} else {
		t.watching = true
	}
	return t
}

// reportChanged queues a namespace whose reports someone else changed. It
// never waits: when the queue is full the next full pass corrects them.
func (t *term) reportChanged(ns string) {
	select {
	case t.stale <- ns:
	default:
	}
}

func (t *term) loop(ctx context.Context) {
	periodic := time.NewTicker(t.s.cfg.Interval)
	defer periodic.Stop()
	poll := time.NewTicker(t.s.cfg.Poll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case key := <-t.dirty:
			keys := t.settle(ctx, key)
			t.decidePods(ctx, keys)
		case ns := <-t.stale:
			t.flush(ctx, map[string]bool{ns: true})
		case <-periodic.C:
			t.fullPass(ctx, TriggerPeriodic)
		case <-poll.C:
			p := t.s.cfg.Policy()
			root, err := t.s.cfg.RootVersion(ctx, p)
			switch {
			case p.Hash != t.policyHash:
				t.fullPass(ctx, TriggerPolicy)
			case err == nil && root != t.root:
				t.fullPass(ctx, TriggerRoot)
			}
		}
	}
}

// changed queues a pod for deciding. The informer never waits: when the
// queue is full the pod is picked up by the next full pass.
func (t *term) changed(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	select {
	case t.dirty <- m.GetNamespace() + "/" + m.GetName():
	default:
	}
}

// settle gathers further changes for Settle after the first.
func (t *term) settle(ctx context.Context, first string) map[string]bool {
	keys := map[string]bool{first: true}
	timer := time.NewTimer(t.s.cfg.Settle)
	defer timer.Stop()
	for {
		select {
		case k := <-t.dirty:
			keys[k] = true
		case <-timer.C:
			return keys
		case <-ctx.Done():
			return keys
		}
	}
}

// decidePods decides the pods that changed (their images or digests; a
// status update that changes neither costs nothing) and writes the
// namespaces whose findings changed.
func (t *term) decidePods(ctx context.Context, keys map[string]bool) {
	p := t.s.cfg.Policy()
	var targets []scan.Target
	owners := map[string]string{} // target index range owner
	touched := map[string]bool{}
	var order []string
	for key := range keys {
		ns, _, _ := strings.Cut(key, "/")
		obj, exists, _ := t.store.GetByKey(key)
		pod, _ := obj.(*corev1.Pod)
		if !exists || pod == nil || !scan.Running(pod) {
			if _, had := t.pods[key]; had {
				delete(t.pods, key)
				touched[ns] = true
			}
			continue
		}
		ts := scan.Targets(pod)
		fp := fingerprint(ts)
		if old := t.pods[key]; old != nil && old.fingerprint == fp && p.Hash == t.policyHash {
			continue
		}
		owners[key] = fp
		order = append(order, key)
		targets = append(targets, ts...)
	}
	if len(targets) > 0 {
		fs := t.s.cfg.Engine.Decide(ctx, scan.Batch{Policy: p, Targets: targets, NamespaceMode: t.modes(ctx, p)})
		t.assign(fs, owners, order, touched)
	}
	t.flush(ctx, touched)
}

// fullPass decides every pod under the policy in force and rewrites what
// changed.
func (t *term) fullPass(ctx context.Context, trigger string) {
	start := time.Now()
	if !t.watching {
		if err := t.s.cfg.Reports.Load(ctx); err != nil {
			t.s.cfg.Log.Error("background verifier: reading existing reports", "err", err)
		}
	}
	p := t.s.cfg.Policy()
	root, _ := t.s.cfg.RootVersion(ctx, p)
	var targets []scan.Target
	owners := map[string]string{}
	var order []string
	for _, obj := range t.store.List() {
		pod, ok := obj.(*corev1.Pod)
		if !ok || !scan.Running(pod) {
			continue
		}
		ts := scan.Targets(pod)
		key := pod.Namespace + "/" + pod.Name
		owners[key] = fingerprint(ts)
		order = append(order, key)
		targets = append(targets, ts...)
	}
	fs := t.s.cfg.Engine.Decide(ctx, scan.Batch{Policy: p, Targets: targets, NamespaceMode: t.modes(ctx, p),
		ReverifyDenied: trigger == TriggerPeriodic})
	touched := map[string]bool{}
	for key, st := range t.pods {
		if _, ok := owners[key]; !ok {
			touched[st.namespace] = true
			delete(t.pods, key)
		}
	}
	t.assign(fs, owners, order, touched)
	for _, ns := range t.s.cfg.Reports.Namespaces() {
		touched[ns] = true // namespaces whose pods are all gone
	}
	t.policyHash, t.root = p.Hash, root
	t.flush(ctx, touched)
	t.s.passes.Add(1)
	if m := t.s.cfg.Metrics; m != nil {
		m.pass(trigger, time.Since(start))
	}
	t.s.cfg.Log.Info("background verification pass", "trigger", trigger, "pods", len(order), "images", len(targets),
		"duration", time.Since(start).String(), "policyHash", p.Hash)
}

// assign files findings (in the targets' order) under their pods, keeping
// a result's timestamp while its outcome stays the same: the timestamp says
// since when it holds, and an unchanged namespace is not rewritten.
func (t *term) assign(fs []scan.Finding, owners map[string]string, order []string, touched map[string]bool) {
	i := 0
	for _, key := range order {
		ns, name, _ := strings.Cut(key, "/")
		var mine []scan.Finding
		for i < len(fs) && fs[i].Namespace == ns && fs[i].Pod == name {
			mine = append(mine, fs[i])
			i++
		}
		old := t.pods[key]
		if old != nil {
			keepTimestamps(mine, old.findings)
		}
		t.pods[key] = &podState{namespace: ns, fingerprint: owners[key], findings: mine}
		touched[ns] = true
	}
}

func keepTimestamps(now, before []scan.Finding) {
	for i := range now {
		for _, b := range before {
			if equalFinding(now[i], b) {
				now[i].DecidedAt = b.DecidedAt
				break
			}
		}
	}
}

func equalFinding(a, b scan.Finding) bool {
	return a.Container == b.Container && a.Image == b.Image && a.Digest == b.Digest && a.Result == b.Result && a.Mode == b.Mode &&
		a.Rule == b.Rule && a.Reason == b.Reason && a.PolicyHash == b.PolicyHash && strings.Join(a.Identities, ",") == strings.Join(b.Identities, ",")
}

// modes returns the namespace modes of p, reading labels only when p uses
// them (each namespace once per batch, through the label cache).
func (t *term) modes(ctx context.Context, p *policy.Policy) func(string) policy.NamespaceMode {
	e := p.Enforcement
	read := t.s.cfg.NamespaceLabels
	if read == nil || len(e.AuditLabels) == 0 && len(e.ExemptLabels) == 0 {
		return func(ns string) policy.NamespaceMode { return e.NamespaceMode(ns, nil) }
	}
	return func(ns string) policy.NamespaceMode {
		labels, _ := read(ctx, ns) // unknown labels: enforced
		return e.NamespaceMode(ns, labels)
	}
}

// fingerprint is what a pod's findings depend on: its images, digests and
// where each digest comes from.
func fingerprint(ts []scan.Target) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.Container + "\x00" + t.Image + "\x00" + t.Digest + "\x00" + string(t.DigestFrom) + "\x00")
	}
	return b.String()
}
