package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/nri/pkg/stub"
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/enforce/node"
	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/internal/cloudauth"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/trustroot"
	"github.com/signet-dev/signet/verdict"
	"github.com/signet-dev/signet/verify"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "connect to the runtime's NRI socket and decide every container creation",
		Description: `Every container the runtime creates is decided against the trust file: from the
webhook's signed verdict on the pod when one covers the exact digest, pod,
namespace and trust file (--verdict-public-key), else by verifying the digest
the runtime will run within --budget, else by the namespace's undecided policy
(--undecided, --undecided-allow). The trust file is reloaded when it changes.

Example:
   signet-node run --policy /etc/signet/trust.yaml --verdict-public-key /etc/signet-verdict/verdict.pub \
     --exempt-namespace signet-system --nri-socket /var/run/nri/nri.sock

Environment: every flag has a SIGNET_NODE_ variable (shown below).`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "policy", Usage: "trust policy file", Value: "trust.yaml", EnvVars: []string{"SIGNET_NODE_POLICY"}},
			&cli.StringFlag{Name: "nri-socket", Usage: "the runtime's NRI socket", Value: "/var/run/nri/nri.sock", EnvVars: []string{"SIGNET_NODE_NRI_SOCKET"}},
			&cli.StringFlag{Name: "verdict-public-key", Usage: "PEM public key(s) of the webhook's verdicts (empty: verify every container)", EnvVars: []string{"SIGNET_NODE_VERDICT_PUBLIC_KEY"}},
			&cli.DurationFlag{Name: "verdict-max-age", Usage: "how old a verdict may be", Value: node.DefaultVerdictMaxAge, EnvVars: []string{"SIGNET_NODE_VERDICT_MAX_AGE"}},
			&cli.DurationFlag{Name: "budget", Usage: "time to verify one container, below the runtime's NRI request timeout (2s)", Value: node.DefaultBudget, EnvVars: []string{"SIGNET_NODE_BUDGET"}},
			&cli.StringSliceFlag{Name: "exempt-namespace", Usage: "namespaces never checked besides the trust file's exempt ones (signet's own)", EnvVars: []string{"SIGNET_NODE_EXEMPT_NAMESPACE"}},
			&cli.StringFlag{Name: "undecided", Usage: "what a container that could not be decided in time gets outside --undecided-allow: deny or allow", Value: "deny", EnvVars: []string{"SIGNET_NODE_UNDECIDED"}},
			&cli.StringSliceFlag{Name: "undecided-allow", Usage: "namespaces whose undecided containers start (the node's own system pods)", Value: cli.NewStringSlice(node.DefaultUndecidedAllow...), EnvVars: []string{"SIGNET_NODE_UNDECIDED_ALLOW"}},
			&cli.StringFlag{Name: "ops-listen", Usage: "health and metrics address (plain HTTP)", Value: ":9091", EnvVars: []string{"SIGNET_NODE_OPS_LISTEN"}},
			&cli.DurationFlag{Name: "reload-interval", Usage: "how often the trust file is checked for changes", Value: enforce.DefaultReloadInterval, EnvVars: []string{"SIGNET_NODE_RELOAD_INTERVAL"}},
			&cli.BoolFlag{Name: "offline", Usage: "use the embedded public-good trusted root instead of TUF", EnvVars: []string{"SIGNET_NODE_OFFLINE"}},
		}, cloudauth.Flags("SIGNET_NODE_")...),
		Action: run,
	}
}

func run(c *cli.Context) error {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("source", "node")
	g, err := guard(c, log)
	if err != nil {
		return cliapp.Usagef("signet-node", "%v", err)
	}
	ops, err := net.Listen("tcp", c.String("ops-listen"))
	if err != nil {
		return cliapp.Exit(cliapp.ExitFailure, "signet-node: "+err.Error())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	metrics := node.NewMetrics(g.Policy)
	logDecision := node.LogDecision(log)
	plugin := &node.Plugin{Guard: g, Observe: func(req node.Request, r node.Result) {
		metrics.Record(req, r)
		logDecision(req, r)
	}}
	var connected atomic.Bool
	go serveOps(ctx, ops, metrics.Handler(), &connected)
	if err := connect(ctx, c.String("nri-socket"), plugin, &connected, log); err != nil {
		return cliapp.Exit(cliapp.ExitFailure, "signet-node: "+err.Error())
	}
	return nil
}

// guard builds the Guard from the flags: the trust file (reloaded), the
// engine with the webhook's cache in front of it, and the verdict key.
func guard(c *cli.Context, log *slog.Logger) (*node.Guard, error) {
	rl := &enforce.Reloader{PolicyPath: c.String("policy"), Log: log}
	if err := rl.Load(); err != nil {
		return nil, err
	}
	undecided, err := node.ParseUndecided(c.String("undecided"), c.StringSlice("undecided-allow"))
	if err != nil {
		return nil, err
	}
	roots := &enforce.TrustedRoots{Policy: rl.Policy, Log: log,
		Store: trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{Offline: c.Bool("offline")}))}
	clouds, err := cloudauth.FromFlags(c)
	if err != nil {
		return nil, err
	}
	registry := regclient.New(regclient.HTTPTransport(), regclient.Options{Gate: enforce.NewLimiter(enforce.DefaultRegistryConcurrency)})
	verifier := verify.New(verify.WithKeychain(cloudauth.Keychain(clouds)), verify.WithTrustedRoots(roots.Store), verify.WithTransport(registry))
	g := &node.Guard{Policy: rl.Policy, Budget: c.Duration("budget"), VerdictMaxAge: c.Duration("verdict-max-age"),
		Exempt: c.StringSlice("exempt-namespace"), Undecided: undecided,
		// Verifications outlive one request's budget, so the runtime's retry
		// of a refused container finds the decision kept.
		Decider: enforce.NewCache(verifier, enforce.CacheConfig{VerifyTimeout: enforce.VerifyTimeout(enforce.DefaultDeadline)})}
	if path := c.String("verdict-public-key"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if g.Verdicts, err = verdict.NewVerifier(pem); err != nil {
			return nil, err
		}
	}
	go rl.Watch(c.Context, c.Duration("reload-interval"))
	if !c.Bool("offline") {
		go roots.Run(c.Context)
	}
	return g, nil
}

// connect registers with the runtime and stays connected, reconnecting
// (the runtime restarts, the socket appears late at boot) until ctx ends.
func connect(ctx context.Context, socket string, plugin *node.Plugin, connected *atomic.Bool, log *slog.Logger) error {
	for backoff := 100 * time.Millisecond; ; {
		s, err := stub.New(plugin, stub.WithPluginName(node.PluginName), stub.WithPluginIdx("10"), stub.WithSocketPath(socket),
			stub.WithOnClose(func() { connected.Store(false) }))
		if err != nil {
			return err
		}
		if err = s.Start(ctx); err == nil {
			connected.Store(true)
			log.Info("connected to the runtime's NRI socket", "socket", socket, "runtimeNRI", s.RuntimeNRIVersion(), "requestTimeout", s.RequestTimeout().String())
			backoff = 100 * time.Millisecond
			stopped := make(chan struct{})
			go func() {
				select {
				case <-ctx.Done():
					s.Stop()
				case <-stopped:
				}
			}()
			s.Wait()
			close(stopped)
			connected.Store(false)
			log.Warn("NRI connection closed; reconnecting", "socket", socket)
		} else {
			log.Warn("cannot register with the runtime; retrying", "socket", socket, "err", err, "retryIn", backoff.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// serveOps serves /metrics, and /healthz: 200 while connected to the runtime.
func serveOps(ctx context.Context, l net.Listener, metrics http.Handler, connected *atomic.Bool) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !connected.Load() {
			http.Error(w, "not connected to the runtime's NRI socket", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("ops server", "err", err)
	}
}
