package deploy

import (
	"testing"
)

// The webhook's cloud identity is asked for a token only for the hosts the
// values list (enforce's --google/--ecr/--acr-registries); without values no
// such flag is rendered, so no cloud keychain is consulted at all.
func TestCloudRegistriesReachBothDeployments(t *testing.T) {
	for _, d := range []string{"webhook", "scanner"} {
		t.Run(d, func(t *testing.T) {
			objs := render(t, nil)
			dep := webhookDeployment(t, objs)
			if d == "scanner" {
				dep = scannerDeployment(t, objs)
			}
			for _, flag := range []string{"google-registries", "ecr-registries", "acr-registries"} {
				if v, ok := arg(dep.Spec.Template.Spec.Containers[0].Args, flag); ok {
					t.Errorf("default values render --%s=%s: cloud identities must be opt-in per host", flag, v)
				}
			}
			objs = render(t, map[string]any{"enforce": map[string]any{"cloudRegistries": map[string]any{
				"acr": []any{"acme.azurecr.io", "*.azurecr.cn"}, "ecr": []any{"*.dkr.ecr.eu-west-1.amazonaws.com"}}}})
			dep = webhookDeployment(t, objs)
			if d == "scanner" {
				dep = scannerDeployment(t, objs)
			}
			args := dep.Spec.Template.Spec.Containers[0].Args
			want := map[string]string{"acr-registries": "acme.azurecr.io,*.azurecr.cn", "ecr-registries": "*.dkr.ecr.eu-west-1.amazonaws.com"}
			for flag, v := range want {
				if got, _ := arg(args, flag); got != v {
					t.Errorf("--%s=%q, want %q", flag, got, v)
				}
			}
			if v, ok := arg(args, "google-registries"); ok {
				t.Errorf("--google-registries=%s rendered for an empty list", v)
			}
		})
	}
}
