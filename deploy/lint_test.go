package deploy

import (
	"testing"

	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

// TestHelmLint is `helm lint --strict`: warnings fail too, for the default
// values and for cert-manager TLS.
func TestHelmLint(t *testing.T) {
	for name, values := range map[string]map[string]any{"default values": nil, "cert-manager": certManagerValues, "observability": observabilityValues} {
		t.Run(name, func(t *testing.T) {
			l := lint.All(chartDir, values, releaseNamespace, false)
			for _, m := range l.Messages {
				if m.Severity > support.InfoSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}
