package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Fixed paths the kubelet, containerd and CNI write outside the node's dir.
const (
	netnsDir         = "/run/netns"
	shimSocketDir    = "/run/containerd/s"
	cniResultsDir    = "/var/lib/cni/results"
	containerLogsDir = "/var/log/containers"
	cgroupFS         = "/sys/fs/cgroup"
)

// fixedPaths records what existed in the fixed paths before the node started,
// so cleanup and Leftovers only touch what the node added.
type fixedPaths struct {
	netns, shims, cniResults map[string]bool
	made                     []string // fixed directories that did not exist before
	ipForward                string   // net.ipv4.ip_forward (the bridge plugin's isGateway sets it)
}

func snapshotFixedPaths(*Node) fixedPaths {
	fp := fixedPaths{netns: dirSet(netnsDir), shims: dirSet(shimSocketDir), cniResults: dirSet(cniResultsDir), ipForward: ipForward()}
	for _, d := range []string{"/run/containerd", shimSocketDir, "/var/lib/cni", cniResultsDir, containerLogsDir, netnsDir} {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			fp.made = append(fp.made, d)
		}
	}
	return fp
}

func dirSet(dir string) map[string]bool {
	m := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

// stopPods runs before any process is stopped: the controllers and the kubelet
// stop first (nothing recreates a pod), then every sandbox is stopped and
// removed through CRI, as the kubelet would: containers killed, CNI DEL (pod
// address and veth released), network namespace removed.
func (n *Node) stopPods() error {
	var errs []error
	for _, name := range []string{"kube-controller-manager", "kube-scheduler", "kubelet"} {
		for _, p := range n.stack.procs {
			if p.name == name {
				errs = append(errs, p.stop())
			}
		}
	}
	if n.containerdSock == "" {
		return errors.Join(errs...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := dialCRI(ctx, n.containerdSock)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer c.Close()
	for try := 0; try < 3; try++ { // a sandbox being created as the kubelet stopped shows up late
		count, err := c.removeAllSandboxes(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		if count == 0 {
			break
		}
	}
	return errors.Join(errs...)
}

// cleanup runs after every process stopped: unmount what the kubelet and the
// runtime left in the node's dir, remove the pod cgroups, the bridge, and what
// the node added to the fixed paths.
func (n *Node) cleanup() error {
	var errs []error
	// Only if stopping the sandboxes failed: containerd's shims outlive it.
	if pids := pidsOf(n); len(pids) > 0 {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		untilGone(context.Background(), 10*time.Second, func() bool { return len(pidsOf(n)) == 0 })
		errs = append(errs, fmt.Errorf("killed %d processes CRI did not stop: %v", len(pids), pids))
	}
	errs = append(errs, unmountUnder(n.Dir))
	errs = append(errs, removeCgroupRoot(n.CgroupRoot))
	errs = append(errs, n.network.remove())
	for name := range dirSet(netnsDir) {
		if !n.before.netns[name] {
			p := filepath.Join(netnsDir, name)
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
			errs = append(errs, os.Remove(p))
		}
	}
	for dir, before := range map[string]map[string]bool{cniResultsDir: n.before.cniResults, shimSocketDir: n.before.shims} {
		for name := range dirSet(dir) {
			if !before[name] {
				errs = append(errs, os.Remove(filepath.Join(dir, name)))
			}
		}
	}
	for _, l := range n.containerLogLinks() {
		errs = append(errs, os.Remove(l))
	}
	made := slices.Clone(n.before.made)
	sort.Sort(sort.Reverse(sort.StringSlice(made))) // children first
	for _, d := range made {
		_ = os.Remove(d) // only if empty: another user may have filled it meanwhile
	}
	return errors.Join(errs...)
}

// Leftovers lists what the node left on the machine after Close: processes in
// its cgroups or naming its dir, mounts, cgroups, the bridge, network
// namespaces, shim sockets, CNI results and container log links, and what its
// teardown had to force (processes CRI did not stop). Empty means clean.
func (n *Node) Leftovers() []string {
	var out []string
	if n.cleanupErr != nil {
		out = append(out, "teardown: "+n.cleanupErr.Error())
	}
	out = append(out, processesOf(n)...)
	for _, m := range mountsUnder(n.Dir) {
		out = append(out, "mount "+m)
	}
	for _, d := range cgroupDirs(n.CgroupRoot) {
		out = append(out, "cgroup "+d)
	}
	if n.network.exists() {
		out = append(out, "bridge "+n.network.Bridge)
	}
	for name := range dirSet(netnsDir) {
		if !n.before.netns[name] {
			out = append(out, "netns "+filepath.Join(netnsDir, name))
		}
	}
	for name := range dirSet(shimSocketDir) {
		if !n.before.shims[name] {
			out = append(out, "shim socket "+filepath.Join(shimSocketDir, name))
		}
	}
	for name := range dirSet(cniResultsDir) {
		if !n.before.cniResults[name] {
			out = append(out, "CNI result "+filepath.Join(cniResultsDir, name))
		}
	}
	for _, l := range n.containerLogLinks() {
		out = append(out, "container log link "+l)
	}
	for _, d := range n.before.made {
		if _, err := os.Stat(d); err == nil && len(dirSet(d)) == 0 {
			out = append(out, "empty directory "+d)
		}
	}
	if _, err := os.Stat(n.Dir); err == nil {
		out = append(out, "node dir "+n.Dir)
	}
	if now := ipForward(); now != n.before.ipForward {
		out = append(out, fmt.Sprintf("sysctl net.ipv4.ip_forward changed from %s to %s", n.before.ipForward, now))
	}
	sort.Strings(out)
	return out
}

// containerLogLinks are /var/log/containers symlinks into the node's dir.
func (n *Node) containerLogLinks() []string {
	var out []string
	ents, _ := os.ReadDir(containerLogsDir)
	for _, e := range ents {
		p := filepath.Join(containerLogsDir, e.Name())
		if t, err := os.Readlink(p); err == nil && strings.HasPrefix(t, n.Dir+"/") {
			out = append(out, p)
		}
	}
	return out
}

// processesOf describes the processes pidsOf finds.
func processesOf(n *Node) []string {
	var out []string
	for _, pid := range pidsOf(n) {
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		out = append(out, fmt.Sprintf("process %d %s", pid, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")))
	}
	return out
}

// pidsOf finds processes in the node's cgroups or whose command line names its
// dir (containerd shims are started with its socket path).
func pidsOf(n *Node) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cg, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		inCgroup := strings.Contains(string(cg), ":"+n.CgroupRoot+"/") || strings.Contains(string(cg), ":"+n.CgroupRoot+"\n")
		if inCgroup || strings.Contains(string(cmd), n.Dir+"/") {
			out = append(out, pid)
		}
	}
	return out
}

// mountsUnder lists mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// unmountUnder unmounts everything at or below dir (the kubelet bind-mounts its
// root dir onto itself, and volume tmpfs mounts outlive a stopped kubelet).
func unmountUnder(dir string) error {
	for try := 0; try < 10; try++ {
		mps := mountsUnder(dir)
		if len(mps) == 0 {
			return nil
		}
		for _, mp := range mps {
			if err := syscall.Unmount(mp, 0); err != nil {
				_ = syscall.Unmount(mp, syscall.MNT_DETACH)
			}
		}
	}
	if mps := mountsUnder(dir); len(mps) > 0 {
		return fmt.Errorf("still mounted: %v", mps)
	}
	return nil
}

// cgroupHierarchies are the mounted cgroup v1 hierarchies (or the v2 root).
func cgroupHierarchies() []string {
	if _, err := os.Stat(filepath.Join(cgroupFS, "cgroup.controllers")); err == nil {
		return []string{cgroupFS}
	}
	var out []string
	ents, _ := os.ReadDir(cgroupFS)
	for _, e := range ents {
		p := filepath.Join(cgroupFS, e.Name())
		if st, err := os.Lstat(p); err == nil && st.IsDir() && st.Mode()&os.ModeSymlink == 0 {
			if _, err := os.Stat(filepath.Join(p, "cgroup.procs")); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// makeCgroupRoot creates the node's cgroup root in every hierarchy (the kubelet
// requires it to exist), with the cpuset of its parent.
func makeCgroupRoot(root string) error {
	for _, h := range cgroupHierarchies() {
		d := filepath.Join(h, root)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating cgroup %s: %w", d, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				if err := os.WriteFile(filepath.Join(d, f), v, 0o644); err != nil {
					return fmt.Errorf("initialising %s/%s: %w", d, f, err)
				}
			}
		}
	}
	return nil
}

// cgroupDirs lists the node's cgroups that still exist, deepest first.
func cgroupDirs(root string) []string {
	var out []string
	for _, h := range cgroupHierarchies() {
		_ = filepath.WalkDir(filepath.Join(h, root), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				out = append(out, p)
			}
			return nil
		})
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

// removeCgroupRoot removes the node's cgroups (rmdir: only empty ones go; a
// cgroup that still holds a process is reported).
func removeCgroupRoot(root string) error {
	var errs []error
	for _, d := range cgroupDirs(root) {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

func ipForward() string {
	b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	return strings.TrimSpace(string(b))
}
