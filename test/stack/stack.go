package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Options selects the components to start. OIDC starts whenever Fulcio does.
type Options struct {
	Registry bool
	OIDC     bool
	Fulcio   bool
	TSA      bool
	// TSAChain makes the TSA put its whole chain (not only its leaf) in
	// each timestamp, as Notary Project verifiers need (their trust
	// store holds the TSA's root only).
	TSAChain bool
	Rekor    bool
	Kube     bool
	// KubeAudit turns on the apiserver's audit log (Kube.AuditLog): every
	// request at level Metadata, which includes admission webhooks' audit
	// annotations.
	KubeAudit bool
	// KubeArgs are extra kube-apiserver flags, e.g.
	// --admission-control-config-file (files they name are the caller's).
	KubeArgs []string
	// Node runs a real node around Kube (implies Registry and Kube): see Node.
	Node bool
	// Logf receives build and start progress (default: discard).
	Logf Logf
	// ReadyTimeout bounds each server's readiness wait (default 60s).
	ReadyTimeout time.Duration
}

// All starts every component.
var All = Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true, Kube: true}

// Stack is a running set of servers. Components not requested are nil.
type Stack struct {
	Dir      string // temp dir holding configs, data and server logs (<name>.log)
	Registry *Registry
	OIDC     *OIDC
	Fulcio   *Fulcio
	TSA      *TSA
	Rekor    *Rekor
	Kube     *Kube
	Node     *Node

	// Written when Fulcio or TSA runs: sigstore-go-loadable trust material.
	TrustedRootPath   string
	SigningConfigPath string

	opts       Options
	procs      []*process
	beforeStop []func() error // before any process is stopped
	afterStop  []func()
	kubeAccess kubeAccess
	closeOnce  sync.Once
	closeErr   error
}

// Start builds (if needed) and starts the requested servers. On error everything
// already started is stopped. Call Close when done.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Fulcio {
		opts.OIDC = true
	}
	if opts.Node {
		opts.Registry, opts.Kube = true, true
	}
	dir, err := os.MkdirTemp("", "signet-stack-")
	if err != nil {
		return nil, err
	}
	s := &Stack{Dir: dir, opts: opts}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if opts.Node {
		if err := s.prepareNode(ctx); err != nil {
			return nil, fmt.Errorf("stack: node: %w", err)
		}
	}
	if opts.OIDC {
		if s.OIDC, err = newOIDC(dir); err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
	}
	steps := []struct {
		on    bool
		name  string
		start func(context.Context) error
	}{
		{opts.Registry, "registry", func(ctx context.Context) (err error) { s.Registry, err = s.startRegistry(ctx); return }},
		{opts.Fulcio, "fulcio", func(ctx context.Context) (err error) { s.Fulcio, err = s.startFulcio(ctx); return }},
		{opts.TSA, "tsa", func(ctx context.Context) (err error) { s.TSA, err = s.startTSA(ctx); return }},
		{opts.Rekor, "rekor", func(ctx context.Context) (err error) { s.Rekor, err = s.startRekor(ctx); return }},
		{opts.Kube, "kube", func(ctx context.Context) (err error) { s.Kube, err = s.startKube(ctx); return }},
		{opts.Node, "node", func(ctx context.Context) (err error) { _, err = s.startNode(ctx); return }},
	}
	for _, st := range steps {
		if !st.on {
			continue
		}
		t0 := time.Now()
		if err := st.start(ctx); err != nil {
			return nil, fmt.Errorf("stack: %s: %w", st.name, err)
		}
		s.logf("stack: %s ready in %s", st.name, time.Since(t0).Round(time.Millisecond))
	}
	if s.Fulcio != nil || s.TSA != nil || s.Rekor != nil {
		if err := s.writeTrustMaterial(); err != nil {
			return nil, fmt.Errorf("stack: trust material: %w", err)
		}
	}
	return s, nil
}

// New starts a stack for one test, failing it on error and closing it in t.Cleanup
// (so servers stop even when the test fails).
func New(t testing.TB, opts Options) *Stack {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Close stops every server (SIGTERM, then SIGKILL after a grace period) and
// removes the temp dir unless $SIGNET_STACK_KEEP is set. Safe to call twice.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, f := range s.beforeStop {
			errs = append(errs, f())
		}
		for i := len(s.procs) - 1; i >= 0; i-- {
			errs = append(errs, s.procs[i].stop())
		}
		if s.OIDC != nil {
			s.OIDC.Close()
		}
		for _, f := range s.afterStop {
			f()
		}
		if os.Getenv("SIGNET_STACK_KEEP") == "" {
			errs = append(errs, os.RemoveAll(s.Dir))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// PIDs of every child process started, for leak checks.
func (s *Stack) PIDs() []int {
	var pids []int
	for _, p := range s.procs {
		pids = append(pids, p.PID())
	}
	return pids
}

// run ensures tool is built and starts it with a hermetic environment plus env.
func (s *Stack) run(ctx context.Context, name string, tool Tool, dir string, env []string, args ...string) (*process, error) {
	return s.runArgs(ctx, name, tool, dir, env, nil, args...)
}

// runArgs is run with more arguments after args.
func (s *Stack) runArgs(ctx context.Context, name string, tool Tool, dir string, env, more []string, args ...string) (*process, error) {
	args = append(args, more...)
	bin, err := tool.Ensure(ctx, s.opts.Logf)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p, err := startProcess(name, bin, dir, append(childEnv(dir), env...), args...)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	return p, nil
}

// childEnv gives servers a private HOME and no proxy settings, so nothing they do
// depends on the developer's machine or reaches beyond loopback.
func childEnv(home string) []string {
	return []string{"HOME=" + home, "PATH=/usr/bin:/bin", "TMPDIR=" + os.TempDir(), "NO_PROXY=*", "no_proxy=*"}
}

func (s *Stack) readyTimeout() time.Duration {
	if s.opts.ReadyTimeout > 0 {
		return s.opts.ReadyTimeout
	}
	return 60 * time.Second
}

func (s *Stack) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// shared holds the process-wide stack of Shared.
var shared struct {
	sync.Mutex
	s   *Stack
	err error
}

// Shared starts one stack per test binary (the first call's options win) so a
// package's tests share it. Close it from TestMain with CloseShared after m.Run.
func Shared(opts Options) (*Stack, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.s == nil && shared.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		shared.s, shared.err = Start(ctx, opts)
	}
	return shared.s, shared.err
}

// CloseShared stops the stack started by Shared, if any.
func CloseShared() error {
	shared.Lock()
	defer shared.Unlock()
	if shared.s == nil {
		return nil
	}
	err := shared.s.Close()
	shared.s = nil
	return err
}
