package deploy

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestNameOverrides: fullnameOverride names every object, nameOverride the
// pods' app.kubernetes.io/name, and the objects still find each other: the
// webhooks call the rendered Service, whose certificate names it, and which
// selects the webhook's pods; each Deployment runs as a rendered account.
func TestNameOverrides(t *testing.T) {
	for _, tc := range []struct {
		name     string
		values   map[string]any
		fullname string
		app      string
	}{
		{"defaults", nil, fullname, "signet-enforce"},
		{"fullnameOverride", map[string]any{"fullnameOverride": "signet"}, "signet", "signet-enforce"},
		{"nameOverride", map[string]any{"nameOverride": "enforce"}, "signet-enforce", "enforce"},
		{"both", map[string]any{"fullnameOverride": "admission", "nameOverride": "verifier"}, "admission", "verifier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.values)
			for _, o := range objs {
				m, err := meta.Accessor(o)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(m.GetName(), tc.fullname) {
					t.Errorf("%T %s is not named after %s", o, m.GetName(), tc.fullname)
				}
			}
			d := named[*appsv1.Deployment](t, objs, tc.fullname)
			if got := d.Spec.Template.Labels["app.kubernetes.io/name"]; got != tc.app {
				t.Errorf("webhook pods' app.kubernetes.io/name %q, want %q", got, tc.app)
			}
			svc := one[*corev1.Service](t, objs)
			if svc.Name != tc.fullname || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("Service %s (selector %v) does not reach the webhook pods %v", svc.Name, svc.Spec.Selector, d.Spec.Template.Labels)
			}
			scanner := named[*appsv1.Deployment](t, objs, tc.fullname+"-scanner")
			if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(scanner.Spec.Template.Labels)) {
				t.Errorf("the webhook Service selects the scanner's pods %v", scanner.Spec.Template.Labels)
			}
			for _, dep := range []*appsv1.Deployment{d, scanner} {
				named[*corev1.ServiceAccount](t, objs, dep.Spec.Template.Spec.ServiceAccountName)
			}
			checkWebhooksReach(t, objs, svc)
		})
	}
}

// checkWebhooksReach: every webhook calls svc, and the generated serving
// certificate is valid for the name the apiserver dials.
func checkWebhooksReach(t *testing.T, objs []runtime.Object, svc *corev1.Service) {
	t.Helper()
	var clients []admissionregv1.WebhookClientConfig
	for _, w := range one[*admissionregv1.MutatingWebhookConfiguration](t, objs).Webhooks {
		clients = append(clients, w.ClientConfig)
	}
	for _, w := range one[*admissionregv1.ValidatingWebhookConfiguration](t, objs).Webhooks {
		clients = append(clients, w.ClientConfig)
	}
	block, _ := pem.Decode(one[*corev1.Secret](t, objs).Data["tls.crt"])
	if block == nil {
		t.Fatal("tls.crt is not PEM")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	dns := svc.Name + "." + releaseNamespace + ".svc"
	if err := leaf.VerifyHostname(dns); err != nil {
		t.Errorf("serving certificate: %v", err)
	}
	for _, c := range clients {
		if c.Service == nil || c.Service.Name != svc.Name || c.Service.Namespace != releaseNamespace {
			t.Errorf("a webhook calls %+v, not the Service %s", c.Service, svc.Name)
		}
	}
}
