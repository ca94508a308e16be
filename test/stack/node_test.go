package stack_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/signet-dev/signet/test/stack"
)

// TestNodeRunsPodsAndLeavesNothing: the node registers Ready with the pinned
// kubelet version; the scheduler places a pod that names no node; it runs in
// its own network namespace on the pod subnet with exactly the pushed image
// digest; and Close leaves no process, mount, cgroup, bridge, network
// namespace, shim socket, CNI result or log link behind.
func TestNodeRunsPodsAndLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	s, err := stack.Start(t.Context(), stack.Options{Node: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
	n := s.Node
	cs, err := s.Kube.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	node, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := node.Status.NodeInfo.KubeletVersion; got != stack.ToolKubelet.Version {
		t.Errorf("kubeletVersion %q, want %s", got, stack.ToolKubelet.Version)
	}
	bin, err := stack.BuildStatic(ctx, t.TempDir(), "github.com/signet-dev/signet/test/stack/cmd/pause")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := stack.PushBinaryImage(ctx, n.RegistryHost+"/node-test/app:v1", stack.BinaryImage{Binary: bin, Path: "/app", Labels: map[string]string{"test": t.Name()}})
	if err != nil {
		t.Fatal(err)
	}
	repo, _, _ := strings.Cut(ref, "@")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"}, Spec: corev1.PodSpec{
		Containers:                    []corev1.Container{{Name: "app", Image: repo + ":v1"}},
		TerminationGracePeriodSeconds: ptr(int64(1)),
	}}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitPodRunning(t, cs, "default", "app", 2*time.Minute)
	if got.Spec.NodeName != n.Name {
		t.Errorf("scheduled to %q, want %s", got.Spec.NodeName, n.Name)
	}
	if ip := net.ParseIP(got.Status.PodIP); ip == nil || !n.PodSubnet.Contains(ip) {
		t.Errorf("pod IP %q not in the pod subnet %s", got.Status.PodIP, n.PodSubnet)
	}
	_, want, _ := strings.Cut(ref, "@")
	if id := got.Status.ContainerStatuses[0].ImageID; !strings.HasSuffix(id, "@"+want) {
		t.Errorf("imageID %q, want the pushed digest %s", id, want)
	}

	if err := s.Close(); err != nil {
		t.Error(err)
	}
	closed = true
	if left := n.Leftovers(); len(left) > 0 {
		t.Errorf("the node left behind:\n%s", strings.Join(left, "\n"))
	}
	for _, pid := range s.PIDs() {
		if stack.ProcessRunning(pid) {
			t.Errorf("pid %d still exists after Close", pid)
		}
	}
}

func waitPodRunning(t *testing.T, cs kubernetes.Interface, ns, name string, timeout time.Duration) *corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].Ready {
			return p
		}
		if err == nil {
			last = fmt.Sprintf("phase %s, conditions %+v, containers %+v", p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pod %s/%s not running after %s: %s", ns, name, timeout, last)
		case <-tick.C:
		}
	}
}

func ptr[T any](v T) *T { return &v }
