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

// containerdConfig is the node's containerd 2.x (config version 3): root,
// state and sockets in the stack's dir, overlayfs, cgroupfs (cgroup v1 here),
// the CRI plugin with a locally built sandbox image and plain-HTTP access to
// the stack's registry, CNI plugins from Debian's containernetworking-plugins,
// and NRI on a socket of its own (Node.NRISocket), where signet-node connects.
func containerdConfig(dir, sandboxImage, cniConf, nriSocket string, registries []string) (string, error) {
	certs := filepath.Join(dir, "certs.d")
	for _, host := range registries {
		hosts := fmt.Sprintf("server = %q\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", "http://"+host, "http://"+host)
		if err := writeFile(filepath.Join(certs, host, "hosts.toml"), hosts); err != nil {
			return "", err
		}
	}
	q := strconv.Quote
	cfg := `version = 3
root = ` + q(filepath.Join(dir, "root")) + `
state = ` + q(filepath.Join(dir, "state")) + `
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.erofs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = ` + q(filepath.Join(dir, "containerd.sock")) + `
[ttrpc]
  address = ` + q(filepath.Join(dir, "containerd.sock.ttrpc")) + `
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  # The CRI's own pull path reads registry.config_path (the plain-HTTP
  # loopback registry) directly; the Transfer Service would need its own.
  use_local_image_pull = true
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ` + q(sandboxImage) + `
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = ` + q(certs) + `
[plugins."io.containerd.cri.v1.runtime"]
  # Without CAP_SYS_RESOURCE no process may lower its oom_score_adj (the sandbox
  # asks -998): runc then fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ` + q(filepath.Join(dir, "runc")) + `
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = ` + q(filepath.Dir(cniConf)) + `
    max_conf_num = 1
# NRI (on by default in 2.x) on the node's own socket, with no plugins
# launched from disk; NRIRequestTimeout is the deadline a plugin answers in.
[plugins."io.containerd.nri.v1.nri"]
  disable = false
  socket_path = ` + q(nriSocket) + `
  plugin_path = ` + q(filepath.Join(dir, "nri-plugins")) + `
  plugin_config_path = ` + q(filepath.Join(dir, "nri-conf.d")) + `
  plugin_request_timeout = ` + q(NRIRequestTimeout.String()) + `
`
	path := filepath.Join(dir, "config.toml")
	return path, writeFile(path, cfg)
}

// NRIRequestTimeout is how long the node's containerd waits for an NRI
// plugin's answer (containerd's default): a plugin that takes longer is
// disconnected and the container is created without it.
const NRIRequestTimeout = 2 * time.Second

// startContainerd runs containerd 2.x (ToolContainerd) with its own config
// and its runc shim on PATH, and waits for its CRI service to answer.
func (s *Stack) startContainerd(ctx context.Context, n *Node, dir string) error {
	if _, err := exec.LookPath("runc"); err != nil {
		return fmt.Errorf("runc is not installed (make tools installs Debian's runc): %w", err)
	}
	bin, err := ToolContainerd.Ensure(ctx, s.opts.Logf)
	if err != nil {
		return err
	}
	shim, err := ToolContainerdShim.Ensure(ctx, s.opts.Logf)
	if err != nil {
		return err
	}
	// containerd finds its shim by name on PATH; the cache names it by version.
	binDir := filepath.Join(dir, "bin")
	if err := mkdir(binDir); err != nil {
		return err
	}
	if err := os.Symlink(shim, filepath.Join(binDir, "containerd-shim-runc-v2")); err != nil {
		return err
	}
	n.NRISocket = filepath.Join(dir, "nri.sock")
	cfg, err := containerdConfig(dir, n.PauseImage, n.cniConf, n.NRISocket, []string{n.stack.Registry.Host, n.RegistryHost})
	if err != nil {
		return err
	}
	n.certsDir = filepath.Join(dir, "certs.d")
	n.containerdSock = filepath.Join(dir, "containerd.sock")
	p, err := startProcess("containerd", bin, dir, append(childEnv(dir), "PATH="+binDir+":/usr/sbin:/usr/bin:/sbin:/bin"), "--config", cfg)
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
