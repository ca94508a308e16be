package node

import (
	"context"
	"fmt"

	"github.com/containerd/nri/pkg/api"

	"github.com/signet-dev/signet/verdict"
)

// PluginName is the name the plugin registers under with the runtime
// (containerd logs it and puts it in every refusal).
const PluginName = "signet"

// criImageName is the container annotation CRI runtimes set to the image
// as the pod names it (containerd: the CRI "user specified image").
const criImageName = "io.kubernetes.cri.image-name"

// Plugin adapts the runtime's NRI calls to the Guard. It implements the NRI
// stub's CreateContainer and Synchronize interfaces.
type Plugin struct {
	Guard *Guard
	// Observe is told about every decision (logs, metrics).
	Observe func(Request, Result)
}

// RequestOf is the Request for a container the runtime is about to create.
func RequestOf(pod *api.PodSandbox, ctr *api.Container) Request {
	r := Request{Namespace: pod.GetNamespace(), Pod: pod.GetName(), Container: ctr.GetName(),
		Image: ctr.GetAnnotations()[criImageName], Digest: ctr.GetImage().GetDigest(),
		Verdict: pod.GetAnnotations()[verdict.Annotation]}
	if r.Image == "" {
		r.Image = ctr.GetImage().GetName()
	}
	return r
}

// CreateContainer decides the container; an error refuses it, and the
// runtime passes the error's text to the kubelet, which records it as the
// pod's event.
func (p *Plugin) CreateContainer(ctx context.Context, pod *api.PodSandbox, ctr *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	req := RequestOf(pod, ctr)
	r := p.Guard.Decide(ctx, req)
	if p.Observe != nil {
		p.Observe(req, r)
	}
	if !r.Allowed {
		return nil, nil, Refusal(req, r)
	}
	return nil, nil, nil
}

// Refusal is the error a refused container fails with: what, why, and under
// which trust file.
func Refusal(req Request, r Result) error {
	ref := r.Reference
	if ref == "" {
		ref = req.Image
	}
	return fmt.Errorf("signet-node denied container %s of pod %s/%s (%s, %s path) under policy %s: %s",
		req.Container, req.Namespace, req.Pod, ref, r.Path, shortHash(r.PolicyHash), r.Reason)
}

// Synchronize receives the containers that exist when the plugin connects:
// those created while no plugin ran (a node booting before its DaemonSet
// pod, a plugin restart). They cannot be refused any more; each is decided
// in the background and reported (Observe) as what the node would have done.
func (p *Plugin) Synchronize(ctx context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	byID := make(map[string]*api.PodSandbox, len(pods))
	for _, pod := range pods {
		byID[pod.GetId()] = pod
	}
	var reqs []Request
	for _, c := range ctrs {
		if pod, ok := byID[c.GetPodSandboxId()]; ok {
			reqs = append(reqs, RequestOf(pod, c))
		}
	}
	go func() {
		for _, req := range reqs {
			r := p.Guard.Decide(context.WithoutCancel(ctx), req)
			r.Synchronized = true
			if p.Observe != nil {
				p.Observe(req, r)
			}
		}
	}()
	return nil, nil
}

func shortHash(h string) string {
	if len(h) > 19 {
		return h[:19]
	}
	return h
}
