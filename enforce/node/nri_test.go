package node

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/nri/pkg/api"

	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verdict"
)

// TestPluginRefusesWithTheReason: CreateContainer decides the image the pod
// names at the digest the runtime resolved, and refuses with an error that
// names the container, pod, image, path, policy and reason (the kubelet
// shows it as the pod's event).
func TestPluginRefusesWithTheReason(t *testing.T) {
	f := newFixture(t, testworld.Options{})
	var seen []Result
	p := &Plugin{Guard: f.guard, Observe: func(_ Request, r Result) { seen = append(seen, r) }}
	pod := &api.PodSandbox{Id: "sb1", Name: "rogue-1", Namespace: "apps", Annotations: map[string]string{verdict.Annotation: "not a verdict"}}
	ctr := &api.Container{Id: "c1", PodSandboxId: "sb1", Name: "app",
		Annotations: map[string]string{criImageName: f.w.Ref("apps/rogue:v1")},
		Image:       &api.Image{Name: "some/other:name", Digest: f.unsigned.DigestStr()}}
	req := RequestOf(pod, ctr)
	if req.Image != f.w.Ref("apps/rogue:v1") || req.Digest != f.unsigned.DigestStr() || req.Verdict != "not a verdict" || req.Pod != "rogue-1" {
		t.Fatalf("RequestOf: %+v", req)
	}
	_, _, err := p.CreateContainer(context.Background(), pod, ctr)
	if err == nil {
		t.Fatal("an unsigned image was allowed")
	}
	for _, want := range []string{"signet-node denied container app of pod apps/rogue-1", f.unsigned.Context().Name() + "@" + f.unsigned.DigestStr(), "verify path", "release-key", f.p.Hash[:19]} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	ctr.Annotations[criImageName] = f.w.Ref("apps/app:v1")
	ctr.Image.Digest = f.signed.DigestStr()
	if _, _, err := p.CreateContainer(context.Background(), pod, ctr); err != nil {
		t.Fatalf("a signed image was refused: %v", err)
	}
	if len(seen) != 2 || seen[0].Allowed || !seen[1].Allowed {
		t.Fatalf("observed %+v", seen)
	}
}

// TestSynchronizeReportsWhatRanUnchecked: containers that exist when the
// plugin connects are decided and reported as synchronized.
func TestSynchronizeReportsWhatRanUnchecked(t *testing.T) {
	f := newFixture(t, testworld.Options{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(2)
	got := map[string]Result{}
	p := &Plugin{Guard: f.guard, Observe: func(req Request, r Result) {
		mu.Lock()
		got[req.Pod] = r
		mu.Unlock()
		wg.Done()
	}}
	pods := []*api.PodSandbox{{Id: "a", Name: "early-rogue", Namespace: "apps"}, {Id: "b", Name: "early-app", Namespace: "apps"}}
	ctrs := []*api.Container{
		{PodSandboxId: "a", Name: "app", Annotations: map[string]string{criImageName: f.w.Ref("apps/rogue:v1")}, Image: &api.Image{Digest: f.unsigned.DigestStr()}},
		{PodSandboxId: "b", Name: "app", Annotations: map[string]string{criImageName: f.w.Ref("apps/app:v1")}, Image: &api.Image{Digest: f.signed.DigestStr()}},
	}
	if upd, err := p.Synchronize(context.Background(), pods, ctrs); err != nil || upd != nil {
		t.Fatalf("Synchronize: %v %v", upd, err)
	}
	wg.Wait()
	if r := got["early-rogue"]; r.Allowed || !r.Synchronized {
		t.Errorf("early rogue: %+v", r)
	}
	if r := got["early-app"]; !r.Allowed || !r.Synchronized {
		t.Errorf("early app: %+v", r)
	}
}
