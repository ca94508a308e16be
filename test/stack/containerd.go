package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// containerdConfig is the node's containerd: root, state and sockets in the
// stack's dir, overlayfs, cgroupfs (cgroup v1 here), the CRI plugin with a
// locally built sandbox image and plain-HTTP access to the stack's registry,
// and CNI plugins from Debian's containernetworking-plugins.
func containerdConfig(dir, sandboxImage, cniConf string, registries []string) (string, error) {
	certs := filepath.Join(dir, "certs.d")
	for _, host := range registries {
		hosts := fmt.Sprintf("server = %q\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", "http://"+host, "http://"+host)
		if err := writeFile(filepath.Join(certs, host, "hosts.toml"), hosts); err != nil {
			return "", err
		}
	}
	q := strconv.Quote
	cfg := `version = 2
root = ` + q(filepath.Join(dir, "root")) + `
state = ` + q(filepath.Join(dir, "state")) + `
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = ` + q(filepath.Join(dir, "containerd.sock")) + `
[ttrpc]
  address = ` + q(filepath.Join(dir, "containerd.sock.ttrpc")) + `
[plugins."io.containerd.internal.v1.opt"]
  path = ` + q(filepath.Join(dir, "opt")) + `
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ` + q(sandboxImage) + `
  stream_server_address = "127.0.0.1"
  # Without CAP_SYS_RESOURCE no process may lower its oom_score_adj (the sandbox
  # asks -998): runc then fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ` + q(filepath.Join(dir, "runc")) + `
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ` + q(filepath.Dir(cniConf)) + `
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ` + q(certs) + `
`
	path := filepath.Join(dir, "config.toml")
	return path, writeFile(path, cfg)
}

// startContainerd runs the Debian containerd with its own config and waits for
// its CRI service to answer.
func (s *Stack) startContainerd(ctx context.Context, n *Node, dir string) error {
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return fmt.Errorf("containerd is not installed (make tools installs Debian's containerd and runc): %w", err)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return fmt.Errorf("runc is not installed (make tools): %w", err)
	}
	cfg, err := containerdConfig(dir, n.PauseImage, n.cniConf, []string{n.stack.Registry.Host, n.RegistryHost})
	if err != nil {
		return err
	}
	n.containerdSock = filepath.Join(dir, "containerd.sock")
	// PATH reaches runc and containerd-shim-runc-v2.
	p, err := startProcess("containerd", bin, dir, append(childEnv(dir), "PATH=/usr/sbin:/usr/bin:/sbin:/bin"), "--config", cfg)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	return p.waitReady(ctx, s.readyTimeout(), func(ctx context.Context) error {
		c, err := dialCRI(ctx, n.containerdSock)
		if err != nil {
			return err
		}
		defer c.Close()
		return c.ready(ctx)
	})
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// cniConfig writes the pod network's conflist: the bridge plugin on the bridge
// the stack created, which already holds the gateway address (pods reach it
// on-link; isGateway would also switch on the host's ip_forward), host-local
// IPAM with its state in dir, no masquerade, no iptables, no default route.
func cniConfig(dir string, pn *podNetwork, name string) (string, error) {
	first := net4(pn.Subnet.IP, 10)
	last := net4(pn.Subnet.IP, 250)
	conf := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": %q, "plugins": [{"type": "bridge", "bridge": %q,
  "isGateway": false, "ipMasq": false, "hairpinMode": false,
  "ipam": {"type": "host-local", "dataDir": %q,
    "ranges": [[{"subnet": %q, "gateway": %q, "rangeStart": %q, "rangeEnd": %q}]]}}]}
`, name, pn.Bridge, filepath.Join(dir, "ipam"), pn.Subnet.String(), pn.Gateway.String(), first, last)
	path := filepath.Join(dir, "net.d", "10-"+name+".conflist")
	return path, writeFile(path, conf)
}

func net4(base []byte, last byte) string {
	return fmt.Sprintf("%d.%d.%d.%d", base[0], base[1], base[2], last)
}

// untilGone polls cond (true: done) for up to d.
func untilGone(ctx context.Context, d time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return cond()
		case <-t.C:
		}
	}
	return true
}
