package deploy

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestWorkloadSurvivesNodeLoss: three replicas, spread over nodes, and a
// budget that lets a drain take only one at a time.
func TestWorkloadSurvivesNodeLoss(t *testing.T) {
	objs := render(t, nil)
	d := webhookDeployment(t, objs)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %v, want 3", d.Spec.Replicas)
	}
	podLabels := labels.Set(d.Spec.Template.Labels)
	pdb := one[*policyv1.PodDisruptionBudget](t, objs)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PDB maxUnavailable = %v, want 1", pdb.Spec.MaxUnavailable)
	}
	mustSelect(t, "PDB", pdb.Spec.Selector, podLabels)
	aa := d.Spec.Template.Spec.Affinity
	if aa == nil || aa.PodAntiAffinity == nil || len(aa.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatalf("want one preferred pod anti-affinity term, got %+v", aa)
	}
	term := aa.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
	if term.TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("anti-affinity topologyKey %q, want kubernetes.io/hostname", term.TopologyKey)
	}
	mustSelect(t, "anti-affinity", term.LabelSelector, podLabels)
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update may take replicas down before new ones are ready: %+v", ru)
	}
}

func mustSelect(t *testing.T, what string, sel *metav1.LabelSelector, pod labels.Set) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() || !s.Matches(pod) {
		t.Errorf("%s selector %v does not select the webhook pods %v (err %v)", what, sel, pod, err)
	}
}

// TestPodIsNonRootAndReadOnly: the fields the restricted Pod Security
// profile checks, plus a read-only root filesystem.
func TestPodIsNonRootAndReadOnly(t *testing.T) {
	objs := render(t, nil)
	for _, d := range []*appsv1.Deployment{webhookDeployment(t, objs), scannerDeployment(t, objs)} {
		t.Run(d.Name, func(t *testing.T) { checkRestricted(t, d.Spec.Template.Spec) })
	}
}

func checkRestricted(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	ps := spec.SecurityContext
	if ps == nil || !isTrue(ps.RunAsNonRoot) || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and seccomp RuntimeDefault", ps)
	}
	if ps != nil && (ps.RunAsUser == nil || *ps.RunAsUser == 0) {
		t.Errorf("pod runs as uid %v", ps.RunAsUser)
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Fatalf("container %s has no securityContext", c.Name)
		case !isTrue(sc.ReadOnlyRootFilesystem):
			t.Errorf("container %s: root filesystem is writable", c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("container %s: privilege escalation not disabled", c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("container %s: capabilities %+v, want drop [ALL] and nothing added", c.Name, sc.Capabilities)
		case isTrue(sc.Privileged):
			t.Errorf("container %s is privileged", c.Name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("container %s: want cpu and memory requests and a memory limit, got %+v", c.Name, c.Resources)
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// TestProbesUseOpsPort: liveness /healthz and readiness /readyz on the plain
// HTTP ops listener, the port `--ops-listen` opens.
func TestProbesUseOpsPort(t *testing.T) {
	c := webhookDeployment(t, render(t, nil)).Spec.Template.Spec.Containers[0]
	for name, p := range map[string]struct {
		probe *corev1.Probe
		path  string
	}{"liveness": {c.LivenessProbe, "/healthz"}, "readiness": {c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe %+v, want GET %s", name, p.probe, p.path)
			continue
		}
		if port := containerPort(c, p.probe.HTTPGet.Port.String()); port != 9090 || !slices.Contains(c.Args, "--ops-listen=:9090") {
			t.Errorf("%s probe port %s is container port %d, want the ops port 9090 that enforce listens on", name, p.probe.HTTPGet.Port.String(), port)
		}
	}
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// TestServiceReachesWebhookPort: the apiserver calls port 443; the pod
// serves TLS on 8443 (--listen).
func TestServiceReachesWebhookPort(t *testing.T) {
	objs := render(t, nil)
	d, svc := webhookDeployment(t, objs), one[*corev1.Service](t, objs)
	c := d.Spec.Template.Spec.Containers[0]
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 {
		t.Fatalf("service ports %+v, want only 443", svc.Spec.Ports)
	}
	if containerPort(c, svc.Spec.Ports[0].TargetPort.String()) != 8443 || !slices.Contains(c.Args, "--listen=:8443") {
		t.Errorf("service targets %s, not the webhook listener on 8443", svc.Spec.Ports[0].TargetPort.String())
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("service selector %v misses the pods", svc.Spec.Selector)
	}
}

// TestRBACIsLeastPrivilege: the webhook's ClusterRole grants exactly what
// its handler calls (get a service account, get a pull secret, get a
// namespace, write an Event) and is bound to the webhook Deployment's own
// service account; nothing of the background verifier's (scan_test.go).
func TestRBACIsLeastPrivilege(t *testing.T) {
	objs := render(t, nil)
	role := named[*rbacv1.ClusterRole](t, objs, fullname)
	want := map[string][]string{"serviceaccounts": {"get"}, "secrets": {"get"}, "namespaces": {"get"}, "events": {"create", "patch"}}
	got := map[string][]string{}
	for _, r := range role.Rules {
		if !slices.Equal(r.APIGroups, []string{""}) || len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("unexpected rule %+v", r)
		}
		for _, res := range r.Resources {
			got[res] = append(got[res], r.Verbs...)
		}
	}
	for res, verbs := range got {
		if !slices.Equal(verbs, want[res]) {
			t.Errorf("%s: verbs %v, want %v", res, verbs, want[res])
		}
	}
	if len(got) != len(want) {
		t.Errorf("resources %v, want %v", got, want)
	}
	sa := named[*corev1.ServiceAccount](t, objs, fullname)
	b := named[*rbacv1.ClusterRoleBinding](t, objs, fullname)
	if b.RoleRef.Name != role.Name || len(b.Subjects) != 1 || b.Subjects[0].Name != sa.Name || b.Subjects[0].Namespace != releaseNamespace {
		t.Errorf("binding %+v does not bind %s to %s/%s", b, role.Name, releaseNamespace, sa.Name)
	}
	if d := webhookDeployment(t, objs); d.Spec.Template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("pods run as %q, not the bound service account %q", d.Spec.Template.Spec.ServiceAccountName, sa.Name)
	}
}

// TestRBACWithoutPullSecrets: turning pull secrets off removes every read
// of secrets and service accounts (namespace labels stay readable).
func TestRBACWithoutPullSecrets(t *testing.T) {
	role := named[*rbacv1.ClusterRole](t, render(t, map[string]any{"rbac": map[string]any{"readPullSecrets": false}}), fullname)
	for _, r := range role.Rules {
		if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "serviceaccounts") {
			t.Errorf("rule %+v still reads credentials", r)
		}
	}
}

// TestPullSecretsOnlyInListedNamespaces: with rbac.pullSecretNamespaces, no
// ClusterRole reads secrets or service accounts; each listed namespace gets a
// Role (get only) bound to both service accounts, and no other namespace does.
func TestPullSecretsOnlyInListedNamespaces(t *testing.T) {
	objs := render(t, map[string]any{"rbac": map[string]any{"pullSecretNamespaces": []any{"tenant-a", "tenant-b"}}})
	for _, cr := range all[*rbacv1.ClusterRole](objs) {
		for _, r := range cr.Rules {
			if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "serviceaccounts") {
				t.Errorf("ClusterRole %s still reads %v in every namespace", cr.Name, r.Resources)
			}
		}
	}
	roles := map[string]*rbacv1.Role{}
	for _, r := range all[*rbacv1.Role](objs) {
		if r.Name == fullname+"-pull-secrets" {
			roles[r.Namespace] = r
		}
	}
	if len(roles) != 2 || roles["tenant-a"] == nil || roles["tenant-b"] == nil {
		t.Fatalf("pull-secret Roles in %v, want tenant-a and tenant-b", keys(roles))
	}
	for _, r := range roles["tenant-a"].Rules {
		if !slices.Equal(r.Verbs, []string{"get"}) {
			t.Errorf("rule %+v: want get only", r)
		}
	}
	for _, b := range all[*rbacv1.RoleBinding](objs) {
		if b.Name != fullname+"-pull-secrets" {
			continue
		}
		var subjects []string
		for _, s := range b.Subjects {
			subjects = append(subjects, s.Namespace+"/"+s.Name)
		}
		if want := []string{releaseNamespace + "/" + fullname, releaseNamespace + "/" + scannerName}; !slices.Equal(subjects, want) {
			t.Errorf("%s/%s binds %v, want %v", b.Namespace, b.Name, subjects, want)
		}
	}
}

// arg returns the value of --name=value in args.
func arg(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}
