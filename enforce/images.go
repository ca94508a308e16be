package enforce

import "github.com/signet-dev/signet/workload"

// The webhook reads workloads with package workload, which `sign verify -f`
// shares, so a manifest check covers exactly what admission covers.
type (
	// Image is one image reference in a workload (workload.Image).
	Image = workload.Image
	// Workload is what the webhook reads from an object (workload.Workload).
	Workload = workload.Workload
)

// SupportedKind reports whether kind carries a pod spec signet checks.
func SupportedKind(kind string) bool { return workload.SupportedKind(kind) }

// ExtractWorkload returns every image of a workload object (workload.Extract).
func ExtractWorkload(kind string, raw []byte, ephemeralOnly bool) (*Workload, error) {
	return workload.Extract(kind, raw, ephemeralOnly)
}
