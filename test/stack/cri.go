package stack

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criClient talks to containerd's CRI service, the kubelet's own interface to
// the runtime. Teardown uses it to stop pod sandboxes the way the kubelet
// does, so CNI removes each pod's network namespace and address.
type criClient struct {
	conn *grpc.ClientConn
	rt   criv1.RuntimeServiceClient
}

func dialCRI(_ context.Context, sock string) (*criClient, error) {
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return &criClient{conn: conn, rt: criv1.NewRuntimeServiceClient(conn)}, nil
}

func (c *criClient) Close() error { return c.conn.Close() }

// ready reports whether the runtime is up (network readiness comes later, when
// the CNI config is in place).
func (c *criClient) ready(ctx context.Context) error {
	st, err := c.rt.Status(ctx, &criv1.StatusRequest{})
	if err != nil {
		return err
	}
	for _, cond := range st.GetStatus().GetConditions() {
		if cond.Type == criv1.RuntimeReady && !cond.Status {
			return fmt.Errorf("CRI runtime not ready: %s %s", cond.Reason, cond.Message)
		}
	}
	return nil
}

// removeAllSandboxes stops (containers killed, CNI DEL, netns removed) and
// removes every pod sandbox, and returns how many there were.
func (c *criClient) removeAllSandboxes(ctx context.Context) (int, error) {
	list, err := c.rt.ListPodSandbox(ctx, &criv1.ListPodSandboxRequest{})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, sb := range list.Items {
		if _, err := c.rt.StopPodSandbox(ctx, &criv1.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("stopping sandbox %s (%s): %w", sb.Id, sb.GetMetadata().GetName(), err))
			continue
		}
		if _, err := c.rt.RemovePodSandbox(ctx, &criv1.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("removing sandbox %s: %w", sb.Id, err))
		}
	}
	return len(list.Items), errors.Join(errs...)
}
