package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/signet-dev/signet/test/filelock"
)

// Tool is a pinned server or CLI built from the Go module proxy.
type Tool struct {
	Name    string // cache file name prefix
	Module  string
	Version string
	Package string // import path of the main package
	// throwawayModule builds via a temporary module (for modules with replace directives).
	throwawayModule func(dir string) error
	ldflags         string
	// batch names tools built by one `go build` in one throwaway module, so the
	// packages they share (Kubernetes' apiserver, client-go, api...) compile once.
	batch string
	// cacheTag distinguishes a build that changed at the same version.
	cacheTag string
	// lane names the build lock the tool is built under: tools of different
	// lanes build at once (stackbuild runs each lane in its own goroutine),
	// tools of one lane one after the other. "" is the servers' lane.
	lane string
}

// The pinned tools. Versions are known to build with Go 1.26. The apiserver's
// cache name is tagged -stamped: earlier builds reported v0.0.0-master, which
// helm's kubeVersion check refuses, and are not reused.
var (
	ToolRegistry = Tool{Name: "registry", Module: "github.com/distribution/distribution/v3", Version: "v3.1.2", Package: "github.com/distribution/distribution/v3/cmd/registry"}
	ToolFulcio   = Tool{Name: "fulcio", Module: "github.com/sigstore/fulcio", Version: "v1.8.8", Package: "github.com/sigstore/fulcio"}
	// ToolTSA's metrics server binds a free loopback port instead of the
	// fixed ":2112" the release hard-codes (patchedModule), so every stack
	// runs a TSA of its own and tests that use one need not take turns.
	ToolTSA = Tool{Name: "timestamp-server", Module: "github.com/sigstore/timestamp-authority/v2", Version: "v2.1.3", Package: "github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server",
		throwawayModule: patchedModule("github.com/sigstore/timestamp-authority/v2", "v2.1.3", "pkg/server/prometheus.go", `Addr:         ":2112",`, `Addr:         "127.0.0.1:0",`),
		cacheTag:        "-loopback-metrics"}
	ToolRekor     = Tool{Name: "rekor-server-posix", Module: "github.com/sigstore/rekor-tiles/v2", Version: "v2.3.0", Package: "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix"}
	ToolCosignV2  = Tool{Name: "cosign", Module: "github.com/sigstore/cosign/v2", Version: "v2.6.5", Package: "github.com/sigstore/cosign/v2/cmd/cosign"}
	ToolCosignV3  = Tool{Name: "cosign", Module: "github.com/sigstore/cosign/v3", Version: "v3.1.3", Package: "github.com/sigstore/cosign/v3/cmd/cosign"}
	ToolEtcd      = Tool{Name: "etcd", Module: "go.etcd.io/etcd/server/v3", Version: "v3.6.16", Package: "go.etcd.io/etcd/server/v3", throwawayModule: requireModule("go.etcd.io/etcd/server/v3", "v3.6.16")}
	ToolAPIServer = kubeTool("kube-apiserver", "v1.37.2", "control-plane").withCacheTag("-stamped")
	// ToolLocalKMS is an AWS KMS API server (asymmetric ECC sign/verify), the
	// real endpoint behind sign's awskms:// keys in tests (StartLocalKMS).
	ToolLocalKMS = Tool{Name: "local-kms", Module: "github.com/nsmithuk/local-kms", Version: "v0.0.0-20260228092603-2a5e92d09ab6", Package: "github.com/nsmithuk/local-kms"}
	// ToolCycloneDX generates the release's SBOMs (tools/release).
	ToolCycloneDX = Tool{Name: "cyclonedx-gomod", Module: "github.com/CycloneDX/cyclonedx-gomod", Version: "v1.10.0", Package: "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod"}
	// ToolStaticcheck is make test's linter (make lint), cached like the
	// servers so a fresh machine builds it once.
	ToolStaticcheck = Tool{Name: "staticcheck", Module: "honnef.co/go/tools", Version: "v0.8.2", Package: "honnef.co/go/tools/cmd/staticcheck"}
)

// The CLIs the README's quickstart runs against the node (test/e2e
// TestQuickstartOnNode): kubectl from the control plane's build, helm v3 (the
// version signet's tests link).
var (
	ToolKubectl = kubeTool("kubectl", "v1.37.2", "control-plane")
	ToolHelm    = Tool{Name: "helm", Module: "helm.sh/helm/v3", Version: "v3.22.0", Package: "helm.sh/helm/v3/cmd/helm"}
)

// The node: controllers and scheduler beside the apiserver (one build), and a
// kubelet from the newest 1.34: kubelets from 1.35 refuse cgroup v1 by default,
// and version skew lets a 1.34 kubelet join a 1.37 control plane.
var (
	ToolControllerManager = kubeTool("kube-controller-manager", "v1.37.2", "control-plane")
	ToolScheduler         = kubeTool("kube-scheduler", "v1.37.2", "control-plane")
	ToolKubelet           = kubeTool("kubelet", "v1.34.4", "")
	// The node's runtime: containerd 2.x, whose NRI lets signet-node refuse a
	// container (Debian's 1.6 has no NRI), and its runc shim, one build.
	// runc itself is Debian's (make tools). cgroup v1 is deprecated in 2.2
	// and still supported (a warning at start).
	ToolContainerd     = containerdTool("containerd")
	ToolContainerdShim = containerdTool("containerd-shim-runc-v2")
)

func containerdTool(name string) Tool {
	const mod, ver = "github.com/containerd/containerd/v2", "v2.4.2"
	return Tool{Name: name, Module: mod, Version: ver, Package: mod + "/cmd/" + name,
		throwawayModule: requireModule(mod, ver), batch: "containerd"}
}

func kubeTool(name, version, batch string) Tool {
	return Tool{Name: name, Module: "k8s.io/kubernetes", Version: version, Package: "k8s.io/kubernetes/cmd/" + name,
		throwawayModule: kubeModule(version), ldflags: kubeVersionFlags(version), batch: batch}
}

func (tl Tool) withCacheTag(tag string) Tool { tl.cacheTag = tag; return tl }

// Tools lists every tool, in the order stackbuild builds them.
func Tools() []Tool {
	return []Tool{ToolRegistry, ToolFulcio, ToolTSA, ToolCosignV2, ToolCosignV3, ToolNotation, ToolRekor, ToolEtcd,
		ToolAPIServer, ToolControllerManager, ToolScheduler, ToolKubectl, ToolKubelet, ToolContainerd, ToolContainerdShim, ToolCycloneDX, ToolLocalKMS, ToolStaticcheck, ToolHelm,
		ToolKyverno, ToolPolicyTester}
}

// Lane is the build lane the tool is built in ("" for the servers', or
// PeerLane).
func (tl Tool) Lane() string { return tl.lane }

// batchMates are the tools built with tl by the same `go build`, tl first.
func (tl Tool) batchMates() []Tool {
	mates := []Tool{tl}
	if tl.batch == "" {
		return mates
	}
	for _, o := range Tools() {
		if o.batch == tl.batch && o.Name != tl.Name {
			mates = append(mates, o)
		}
	}
	return mates
}

// CacheDir is where built binaries live: $SIGNET_STACK_CACHE or os.UserCacheDir()/signet/bin.
func CacheDir() (string, error) {
	if d := os.Getenv("SIGNET_STACK_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "signet", "bin"), nil
}

// Path is where the tool's binary is cached (it may not exist yet).
func (tl Tool) Path() (string, error) {
	d, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, tl.Name+"-"+tl.Version+tl.cacheTag), nil
}

// Logf receives build progress; testing.TB.Logf fits.
type Logf func(format string, args ...any)

// Ensure returns the cached binary, building it first if needed. Builds are
// serialised across processes by a file lock, and a binary only appears in the
// cache through an atomic rename, so concurrent test packages never see a partial file.
func (tl Tool) Ensure(ctx context.Context, logf Logf) (string, error) {
	bin, err := tl.Path()
	if err != nil {
		return "", err
	}
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	// Stop waiting as soon as another process has published the binary.
	built := func() bool { return isExecutable(bin) }
	unlock, err := filelock.Lock(ctx, filepath.Join(filepath.Dir(bin), ".build"+tl.lockSuffix()+".lock"), built)
	if err != nil {
		return "", fmt.Errorf("locking build cache: %w", err)
	}
	defer unlock()
	if built() { // another process built it while we waited
		return bin, nil
	}
	start := time.Now()
	if err := tl.build(ctx, bin); err != nil {
		return "", fmt.Errorf("building %s@%s: %w", tl.Package, tl.Version, err)
	}
	if logf != nil {
		logf("stack: built %s %s in %s", tl.Name, tl.Version, time.Since(start).Round(time.Second))
	}
	return bin, nil
}

// lockSuffix keeps the servers' lock where it was (".build.lock") and gives
// every other lane its own.
func (tl Tool) lockSuffix() string {
	if tl.lane == "" {
		return ""
	}
	return "-" + tl.lane
}

// stripFlags leave out the symbol table and DWARF: the servers are run, never
// debugged, and a first run compiles and links a dozen large binaries on two
// cores (kube-apiserver's link alone is tens of seconds with DWARF).
// noDWARF keeps the compiler from generating the DWARF the linker drops.
const (
	stripFlags = "-s -w"
	noDWARF    = "-gcflags=all=-dwarf=false"
)

func (tl Tool) build(ctx context.Context, bin string) error {
	work, err := os.MkdirTemp(filepath.Dir(bin), ".build-"+tl.Name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if tl.throwawayModule != nil {
		if err := tl.throwawayModule(work); err != nil {
			return err
		}
		return tl.buildModule(ctx, work, filepath.Join(work, "out"))
	}
	// go install pkg@version ignores any enclosing module, so this never touches ours.
	gobin := filepath.Join(work, "gobin")
	if err := goCmd(ctx, work, []string{"GOBIN=" + gobin}, "install", noDWARF, "-ldflags="+stripFlags, tl.Package+"@"+tl.Version); err != nil {
		return err
	}
	ents, err := os.ReadDir(gobin)
	if err != nil || len(ents) != 1 {
		return fmt.Errorf("expected one binary in %s: %v", gobin, err)
	}
	return os.Rename(filepath.Join(gobin, ents[0].Name()), bin)
}

// buildModule builds tl and its batch mates not yet cached in one `go build -o dir`
// (each binary is named after its package) and publishes each by rename.
func (tl Tool) buildModule(ctx context.Context, work, out string) error {
	var todo []Tool
	pkgs := []string{}
	for i, m := range tl.batchMates() {
		if p, err := m.Path(); err == nil && (i == 0 || !isExecutable(p)) {
			todo = append(todo, m)
			pkgs = append(pkgs, m.Package)
		}
	}
	// -mod=mod lets the throwaway module fill in go.sum; our own go.mod is never involved.
	args := []string{"build", "-mod=mod", "-o", out + string(filepath.Separator), noDWARF, "-ldflags=" + strings.TrimSpace(stripFlags+" "+tl.ldflags)}
	if err := goCmd(ctx, work, nil, append(args, pkgs...)...); err != nil {
		return err
	}
	for i := len(todo) - 1; i >= 0; i-- {
		dst, err := todo[i].Path()
		if err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(out, binaryName(todo[i].Package)), dst); err != nil {
			return err
		}
	}
	return nil
}

// binaryName is the file `go build -o dir/` writes for pkg: its last element, or the
// one before a major-version suffix (go.etcd.io/etcd/server/v3 -> server).
func binaryName(pkg string) string {
	elems := strings.Split(pkg, "/")
	last := elems[len(elems)-1]
	if len(elems) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		return elems[len(elems)-2]
	}
	return last
}

func goCmd(ctx context.Context, dir string, extraEnv []string, args ...string) error {
	cmd := exec.CommandContext(ctx, goBinary(), args...)
	cmd.Dir = dir
	cmd.Env = append(buildEnv(), extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // don't outlive a killed test
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(out, 4000))
	}
	return nil
}

// buildEnv drops settings of the calling module (GOFLAGS=-mod=..., GOWORK) that would
// leak into the throwaway build.
func buildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOWORK", "CGO_ENABLED", "GO111MODULE", "GOBIN", "GOOS", "GOARCH":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=off", "GO111MODULE=on")
}

func goBinary() string {
	// The toolchain running the tests builds the stack; this binary is never
	// copied elsewhere, so its GOROOT is meaningful.
	//lint:ignore SA1019 the test binary runs where it was built
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
