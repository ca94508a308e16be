package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/urfave/cli/v2"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/signet-dev/signet/audit"
	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/enforce/background"
	"github.com/signet-dev/signet/policyreport"
	"github.com/signet-dev/signet/verify"
)

// backgroundFlags configure the background verifier and its reports.
func backgroundFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "background-scan", Usage: "verify every running pod's images in the background and write PolicyReports (one replica, elected by a Lease)", Value: true, EnvVars: []string{"SIGNET_BACKGROUND_SCAN"}},
		&cli.DurationFlag{Name: "scan-interval", Usage: "time between periodic background passes (denials are re-checked each pass)", Value: background.DefaultInterval, EnvVars: []string{"SIGNET_SCAN_INTERVAL"}},
		&cli.DurationFlag{Name: "scan-max-age", Usage: "how long a passing digest's decision is reused by background passes before the registry is asked again", Value: enforce.DefaultMaxAge, EnvVars: []string{"SIGNET_SCAN_MAX_AGE"}},
		&cli.IntFlag{Name: "scan-concurrency", Usage: "verifications a background pass runs at once (kept low: admissions come first)", Value: 2, EnvVars: []string{"SIGNET_SCAN_CONCURRENCY"}},
		&cli.StringFlag{Name: "lease-namespace", Usage: "namespace of the background verifier's Lease (default: the pod's namespace)", EnvVars: []string{"SIGNET_LEASE_NAMESPACE"}},
		&cli.StringFlag{Name: "lease-name", Usage: "name of the background verifier's Lease", Value: background.DefaultLeaseName, EnvVars: []string{"SIGNET_LEASE_NAME"}},
		&cli.StringFlag{Name: "lease-identity", Usage: "this replica's identity in the Lease (default: the host name, which is the pod name)", EnvVars: []string{"SIGNET_LEASE_IDENTITY"}},
		&cli.DurationFlag{Name: "lease-duration", Usage: "how long a leader's lease holds without renewal", Value: background.DefaultLeaseDuration, EnvVars: []string{"SIGNET_LEASE_DURATION"}},
	}
}

// startBackground starts the background verifier when it is enabled and
// the API server is reachable, and returns the handler's Observe hook.
func startBackground(ctx context.Context, c *cli.Context, log *slog.Logger, cfg *rest.Config, kc kubernetes.Interface,
	cache *enforce.Cache, v *verify.Verifier, rl *enforce.Reloader, metrics *enforce.Metrics, labels func(context.Context, string) (map[string]string, error)) *background.Scanner {
	if !c.Bool("background-scan") {
		log.Info("background verifier disabled (--background-scan=false): no PolicyReports are written")
		return nil
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		log.Error("background verifier disabled: no dynamic client", "err", err)
		return nil
	}
	pullSecrets := &enforce.PullSecrets{Client: kc}
	engine := &audit.Engine{Decider: cache, Background: true, Concurrency: c.Int("scan-concurrency"),
		Credentials: func(ctx context.Context, pod *audit.Pod) authn.Keychain {
			kc, _ := pullSecrets.Keychain(ctx, pod.Namespace, &enforce.Workload{PullSecrets: pod.PullSecrets, ServiceAccount: pod.ServiceAccount})
			return kc
		}}
	writer := &policyreport.Writer{Client: dyn}
	m := background.NewMetrics(&cache.Stats, writer)
	metrics.Register(m.Collectors()...)
	s := background.New(background.Config{
		Client: kc, Reports: writer, Engine: engine, RootVersion: v.RootVersion, Policy: rl.Policy, NamespaceLabels: labels,
		Interval: c.Duration("scan-interval"), Log: log, Metrics: m,
		Lease: background.Lease{Namespace: leaseNamespace(c.String("lease-namespace")), Name: c.String("lease-name"), Identity: c.String("lease-identity"), Duration: c.Duration("lease-duration")},
	})
	go func() {
		if err := s.Run(ctx); err != nil {
			log.Error("background verifier stopped", "err", err)
		}
	}()
	return s
}

// leaseNamespace defaults to the namespace the pod runs in.
func leaseNamespace(flag string) string {
	if flag != "" {
		return flag
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return "default"
}
