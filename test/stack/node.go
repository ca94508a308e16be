package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/test/filelock"
)

// Node is a real single-node cluster around the stack's kube-apiserver:
// kube-controller-manager and kube-scheduler, a kubelet, containerd 2.x (built
// from the module proxy, NRI on) with Debian's runc, the CNI bridge plugin on a bridge of its own, and a locally built pause
// image. Pods run in network namespaces on Node.PodSubnet; the host reaches them
// on their pod IPs, and they reach the registry and the apiserver through
// Node.RegistryHost and Node.APIServerHost (forwarders on the pod gateway).
//
// Only one node runs per machine at a time (a file lock, like the TSA's): the
// kubelet and containerd use a few fixed paths (/run/containerd/s,
// /var/lib/cni, /var/log/containers, /run/netns). Close stops every pod through
// CRI, then every process, unmounts what they mounted and removes cgroups, the
// bridge and the fixed-path entries they made; Leftovers says what remains.
type Node struct {
	Name string
	// RegistryHost is the stack's registry as pods and the node both reach it
	// (the pod gateway): use it in image references a pod's webhook verifies.
	RegistryHost string
	// APIServerHost is the apiserver as pods reach it (host:port, in its
	// serving certificate): set KUBERNETES_SERVICE_HOST/PORT to it, as in any
	// cluster without kube-proxy.
	APIServerHost string
	PodSubnet     *net.IPNet
	// PauseImage is the sandbox image (repo@digest in the stack's registry).
	PauseImage string
	// CgroupRoot holds every pod's cgroup (cgroup v1: in each hierarchy).
	CgroupRoot string
	// StaticPodDir is the kubelet's staticPodPath: a pod manifest written
	// there runs without the API server (and without admission).
	StaticPodDir string
	// NRISocket is containerd's NRI socket: a plugin that connects there is
	// asked about every container the node creates (signet-node).
	NRISocket string
	Dir       string

	stack          *Stack
	network        *podNetwork
	tokens         map[string]string
	containerdSock string
	certsDir       string // containerd's registry config_path (hosts.toml per host)
	cniConf        string
	cniName        string
	before         fixedPaths
	cleanupErr     error
}

// kubeAccess is what the apiserver needs for a node: the Node authorizer and
// NodeRestriction, tokens for the kubelet, controller-manager and scheduler,
// endpoint routing (no kube-proxy: the apiserver dials a webhook Service's
// ready endpoints, the pod IPs, directly), and the pod gateway address in its
// serving certificate.
type kubeAccess struct {
	args   []string
	tokens [][]string
	ips    []net.IP
}

// prepareNode runs before the apiserver starts: it takes the machine's node
// lock, picks the pod network and sets up the apiserver's side.
func (s *Stack) prepareNode(ctx context.Context) error {
	cache, err := CacheDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	unlock, err := filelock.Lock(ctx, filepath.Join(cache, ".node.lock"), nil)
	if err != nil {
		return err
	}
	pn, err := choosePodNetwork()
	if err != nil {
		unlock()
		return err
	}
	id := randomHex(4)
	n := &Node{Name: "signet-node", PodSubnet: pn.Subnet, CgroupRoot: "/signet-" + id, Dir: filepath.Join(s.Dir, "node"),
		stack: s, network: pn, cniName: "signet-" + id,
		tokens: map[string]string{"kubelet": randomHex(16), "controller-manager": randomHex(16), "scheduler": randomHex(16)}}
	n.before = snapshotFixedPaths(n)
	s.Node = n
	s.kubeAccess = kubeAccess{
		args: []string{"--authorization-mode=Node", "--enable-admission-plugins=NodeRestriction", "--enable-aggregator-routing=true"},
		tokens: [][]string{
			{n.tokens["kubelet"], "system:node:" + n.Name, "node-" + n.Name, "system:nodes"},
			{n.tokens["controller-manager"], "system:kube-controller-manager", "kube-controller-manager"},
			{n.tokens["scheduler"], "system:kube-scheduler", "kube-scheduler"},
		},
		ips: []net.IP{pn.Gateway},
	}
	s.beforeStop = append(s.beforeStop, n.stopPods)
	s.afterStop = append(s.afterStop, func() {
		if n.cleanupErr = n.cleanup(); n.cleanupErr != nil {
			s.logf("stack: node cleanup: %v", n.cleanupErr)
		}
		unlock()
	})
	return nil
}

// startNode brings the node up once the registry and the apiserver run.
func (s *Stack) startNode(ctx context.Context) (*Node, error) {
	n := s.Node
	if err := n.network.create(); err != nil {
		return nil, err
	}
	var err error
	if n.RegistryHost, err = n.network.forward(s.Registry.Host); err != nil {
		return nil, err
	}
	if n.APIServerHost, err = n.network.forward(hostPort(s.Kube.URL)); err != nil {
		return nil, err
	}
	if err := makeCgroupRoot(n.CgroupRoot); err != nil {
		return nil, err
	}
	if n.PauseImage, err = s.pushPause(ctx, n); err != nil {
		return nil, fmt.Errorf("pause image: %w", err)
	}
	if n.cniConf, err = cniConfig(filepath.Join(n.Dir, "cni"), n.network, n.cniName); err != nil {
		return nil, err
	}
	if err := s.startContainerd(ctx, n, filepath.Join(n.Dir, "containerd")); err != nil {
		return nil, fmt.Errorf("containerd: %w", err)
	}
	if err := s.startControllers(ctx, n, n.Dir); err != nil {
		return nil, err
	}
	if err := s.startKubelet(ctx, n, filepath.Join(n.Dir, "kubelet")); err != nil {
		return nil, fmt.Errorf("kubelet: %w", err)
	}
	return n, n.waitReady(ctx, 2*s.readyTimeout())
}

// pushPause builds the pause command and pushes it as the sandbox image. The
// node pulls it on loopback, like every image the kubelet pulls here.
func (s *Stack) pushPause(ctx context.Context, n *Node) (string, error) {
	dir := filepath.Join(n.Dir, "pause")
	if err := mkdir(dir); err != nil {
		return "", err
	}
	bin, err := BuildStatic(ctx, dir, "github.com/signet-dev/signet/test/stack/cmd/pause")
	if err != nil {
		return "", err
	}
	return PushBinaryImage(ctx, s.Registry.Host+"/signet-test/pause:3.10", BinaryImage{Binary: bin, Path: "/pause"})
}

// waitReady waits until the node reports Ready (its runtime and CNI are up).
func (n *Node) waitReady(ctx context.Context, timeout time.Duration) error {
	cs, err := n.stack.Kube.Client()
	if err != nil {
		return err
	}
	var last error = errors.New("not registered")
	ok := untilGone(ctx, timeout, func() bool {
		node, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			last = err
			return false
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				last = fmt.Errorf("condition Ready=%s: %s", c.Status, c.Message)
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	})
	if !ok {
		return fmt.Errorf("node %s not ready after %s: %v", n.Name, timeout, last)
	}
	return nil
}

func hostPort(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Host
}
