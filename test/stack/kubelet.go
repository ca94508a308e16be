package stack

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeletConfig is a KubeletConfiguration for this machine: cgroup v1 with the
// cgroupfs driver (a 1.34 kubelet still accepts v1 with failCgroupV1: false),
// pods under the node's own cgroup root, every listener on loopback, eviction
// and image GC thresholds a busy shared disk cannot trip, no iptables.
func kubeletConfig(n *Node, dir string, port, healthPort int) string {
	q := strconv.Quote
	return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: ` + q(n.CgroupRoot) + `
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: ` + q("unix://"+n.containerdSock) + `
address: 127.0.0.1
port: ` + strconv.Itoa(port) + `
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ` + strconv.Itoa(healthPort) + `
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
podLogsDir: ` + q(filepath.Join(dir, "pod-logs")) + `
staticPodPath: ` + q(n.StaticPodDir) + `
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
makeIPTablesUtilChains: false
serializeImagePulls: false
syncFrequency: 5s
nodeStatusUpdateFrequency: 5s
fileCheckFrequency: 5s
`
}

// startKubelet runs the kubelet as system:node:<name> (Node authorizer,
// NodeRestriction) and waits for its healthz.
func (s *Stack) startKubelet(ctx context.Context, n *Node, dir string) error {
	return onFreePorts(2, func(ports []int) error { return s.startKubeletOn(ctx, n, dir, ports[0], ports[1]) })
}

// startKubeletOn runs the kubelet with its API on port and healthz on healthzPort.
func (s *Stack) startKubeletOn(ctx context.Context, n *Node, dir string, port, healthzPort int) error {
	n.StaticPodDir = filepath.Join(dir, "manifests")
	if err := mkdir(n.StaticPodDir); err != nil {
		return err
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := writeFile(cfg, kubeletConfig(n, dir, port, healthzPort)); err != nil {
		return err
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := writeTokenKubeconfig(kc, s.Kube, n.tokens["kubelet"]); err != nil {
		return err
	}
	// mount/umount for volumes, ip/nsenter-free: the kubelet finds them on PATH.
	p, err := s.run(ctx, "kubelet", ToolKubelet, dir, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		"--config="+cfg, "--kubeconfig="+kc, "--root-dir="+filepath.Join(dir, "root"),
		"--hostname-override="+n.Name, "--node-ip="+n.network.Gateway.String(), "--v=1")
	if err != nil {
		return err
	}
	return p.waitReady(ctx, s.readyTimeout(), httpOK(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/healthz", healthzPort)))
}

// writeTokenKubeconfig writes a kubeconfig for the stack's apiserver with a bearer token.
func writeTokenKubeconfig(path string, k *Kube, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["signet"] = &clientcmdapi.Cluster{Server: k.URL, CertificateAuthority: k.CAFile}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["signet"] = &clientcmdapi.Context{Cluster: "signet", AuthInfo: "user"}
	cfg.CurrentContext = "signet"
	return clientcmd.WriteToFile(*cfg, path)
}
