package main

import (
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/enforce/background"
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
