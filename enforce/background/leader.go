package background

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Lease defaults: the Lease's name (the chart's too) and how long it is
// valid without renewal.
const (
	DefaultLeaseName     = "signet-enforce-scanner"
	DefaultLeaseDuration = 15 * time.Second
)

// PodNamespace is the namespace this process's pod runs in (from its
// service account), "default" outside a pod: the Lease's default namespace.
func PodNamespace() string {
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return "default"
}

// Lease configures leader election: exactly one replica scans at a time.
type Lease struct {
	// Namespace and Name of the coordination.k8s.io Lease (the chart: the
	// release namespace, "signet-enforce-scanner"). The tags are enforce
	// serve's flags (cliapp.Flags).
	Namespace string `flag:"lease-namespace" env:"SIGNET_LEASE_NAMESPACE" usage:"namespace of the background verifier's Lease (default: the pod's namespace)"`
	Name      string `flag:"lease-name" env:"SIGNET_LEASE_NAME" usage:"name of the background verifier's Lease"`
	// Identity of this replica (default: the host name, i.e. the pod name).
	Identity string `flag:"lease-identity" env:"SIGNET_LEASE_IDENTITY" usage:"this replica's identity in the Lease (default: the host name, which is the pod name)"`
	// Duration a lease is valid without renewal (default 15s), how long the
	// leader retries renewing (default 10s), and how often candidates try
	// (default 2s): client-go's usual values.
	Duration                   time.Duration `flag:"lease-duration" env:"SIGNET_LEASE_DURATION" usage:"how long a leader's lease holds without renewal"`
	RenewDeadline, RetryPeriod time.Duration
}

// elect runs lead while this replica holds the lease, and campaigns again
// when it loses it, until ctx ends. On shutdown the lease is released, so
// another replica takes over at once rather than after Duration.
func elect(ctx context.Context, client kubernetes.Interface, l Lease, lead func(context.Context), onChange func(leading bool)) error {
	if l.Duration <= 0 {
		l.Duration = DefaultLeaseDuration
	}
	if l.RenewDeadline <= 0 {
		l.RenewDeadline = l.Duration * 2 / 3
	}
	if l.RetryPeriod <= 0 {
		l.RetryPeriod = l.Duration * 2 / 15
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: l.Identity},
	}
	// Terms never overlap: a term's scan holds mu until it has stopped, and
	// one whose term already ended when it got mu does nothing.
	var mu sync.Mutex
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, Name: l.Name, ReleaseOnCancel: true,
			LeaseDuration: l.Duration, RenewDeadline: l.RenewDeadline, RetryPeriod: l.RetryPeriod,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					mu.Lock()
					defer mu.Unlock()
					if ctx.Err() != nil {
						return
					}
					onChange(true)
					lead(ctx)
				},
				OnStoppedLeading: func() { onChange(false) },
			},
		})
		if err != nil {
			return fmt.Errorf("leader election for the background verifier: %w", err)
		}
		le.Run(ctx)
	}
	return nil
}
