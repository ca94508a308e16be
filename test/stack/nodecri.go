package stack

import (
	"context"
	"fmt"

	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Container is a container the node's runtime holds, as CRI lists it.
type Container struct {
	ID, Namespace, Pod, Name string
	// State is CRI's: CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED.
	State   string
	ImageID string
}

// Containers lists every container of the node's runtime (running, exited
// or created), whatever the API server knows: static pods' included.
func (n *Node) Containers(ctx context.Context) ([]Container, error) {
	c, err := dialCRI(ctx, n.containerdSock)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	list, err := c.rt.ListContainers(ctx, &criv1.ListContainersRequest{})
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, ct := range list.Containers {
		l := ct.GetLabels()
		out = append(out, Container{ID: ct.Id, Namespace: l["io.kubernetes.pod.namespace"], Pod: l["io.kubernetes.pod.name"],
			Name: l["io.kubernetes.container.name"], State: ct.State.String(), ImageID: ct.GetImageRef()})
	}
	return out, nil
}

// StopContainer stops a running container of a pod, as a crash would: the
// kubelet then creates it again (restartPolicy Always).
func (n *Node) StopContainer(ctx context.Context, namespace, pod, name string) error {
	cs, err := n.Containers(ctx)
	if err != nil {
		return err
	}
	c, err := dialCRI(ctx, n.containerdSock)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, ct := range cs {
		if ct.Namespace == namespace && ct.Pod == pod && ct.Name == name && ct.State == criv1.ContainerState_CONTAINER_RUNNING.String() {
			_, err := c.rt.StopContainer(ctx, &criv1.StopContainerRequest{ContainerId: ct.ID, Timeout: 1})
			return err
		}
	}
	return fmt.Errorf("no running container %s of pod %s/%s", name, namespace, pod)
}

// PullImage pulls ref into the node's runtime, as an image preloaded on a
// node (a machine image, a DaemonSet that pre-pulls) is there before any
// pod asks for it.
func (n *Node) PullImage(ctx context.Context, ref string) (string, error) {
	c, err := dialCRI(ctx, n.containerdSock)
	if err != nil {
		return "", err
	}
	defer c.Close()
	resp, err := criv1.NewImageServiceClient(c.conn).PullImage(ctx, &criv1.PullImageRequest{Image: &criv1.ImageSpec{Image: ref}})
	if err != nil {
		return "", err
	}
	return resp.ImageRef, nil
}
