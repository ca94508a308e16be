package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/regclient"
)

// registriesValues: MicroK8s' registry through its Service, a Harbor with
// a private CA, Docker Hub through a mirror, and a Docker config Secret.
func registriesValues(t *testing.T) map[string]any {
	sc, err := enforce.NewServingCertificate("harbor", "corp", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"registries": []any{
			map[string]any{"host": "localhost:32000", "mirror": "http://registry.container-registry.svc.cluster.local:5000", "plainHTTP": true},
			map[string]any{"host": "harbor.corp.example", "caBundle": string(sc.CA)},
			map[string]any{"host": "docker.io", "mirror": "https://mirror.corp.example"},
		},
		"registryCredentials": map[string]any{"existingSecret": "enforce-registry-auth"},
	}
}

// TestRegistriesReachEveryVerifier: the registries value becomes the file
// enforce serve --registries (and signet-node run --registries) reads, in
// both Deployments and the node DaemonSet, and enforce's own parser
// accepts it with every CA bundle beside it; the Docker config Secret is
// mounted in the Deployments as $DOCKER_CONFIG/config.json, nothing else of
// it (the node keeps its own identity); a change of the list rolls the
// pods; an http mirror without plainHTTP is refused at render, as enforce
// would refuse it at start.
func TestRegistriesReachEveryVerifier(t *testing.T) {
	values := registriesValues(t)
	values["node"] = map[string]any{"enabled": true, "verdictSecret": "verdict"}
	objs := render(t, values)
	cm := named[*corev1.ConfigMap](t, objs, fullname+"-registries")
	dir := t.TempDir()
	for k, v := range cm.Data {
		os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644)
	}
	regs, err := regclient.LoadRegistries(filepath.Join(dir, "registries.yaml"))
	if err != nil {
		t.Fatalf("enforce would refuse the rendered registries file: %v\n%s", err, cm.Data["registries.yaml"])
	}
	if got := regs.Dial(mustRepo(t, "localhost:32000/app")).String(); got != "registry.container-registry.svc.cluster.local:5000/app" {
		t.Errorf("localhost:32000/app is read at %s", got)
	}
	ds := one[*appsv1.DaemonSet](t, objs)
	for _, pod := range []struct {
		name string
		tmpl corev1.PodTemplateSpec
	}{{"webhook", webhookDeployment(t, objs).Spec.Template}, {"scanner", scannerDeployment(t, objs).Spec.Template}, {"node", ds.Spec.Template}} {
		spec := pod.tmpl.Spec
		file, ok := arg(spec.Containers[0].Args, "registries")
		if !ok {
			t.Fatalf("%s: no --registries", pod.name)
		}
		if v, key := mountedFile(t, spec, file); v.ConfigMap == nil || v.ConfigMap.Name != cm.Name || key != "registries.yaml" {
			t.Errorf("%s: %s comes from %+v key %q", pod.name, file, v, key)
		}
		for k := range cm.Data {
			mountedFile(t, spec, filepath.Join(filepath.Dir(file), k))
		}
		if pod.tmpl.Annotations["checksum/registries"] == "" {
			t.Errorf("%s: no checksum/registries annotation: a changed list would not reach running pods", pod.name)
		}
		if pod.name == "node" {
			if env(spec.Containers[0], "DOCKER_CONFIG") != "" {
				t.Error("node: the webhook's Docker config reached the node's pods")
			}
			continue
		}
		if env(spec.Containers[0], "DOCKER_CONFIG") != "/docker" {
			t.Errorf("%s: DOCKER_CONFIG is %q", pod.name, env(spec.Containers[0], "DOCKER_CONFIG"))
		}
		v, key := mountedFile(t, spec, "/docker/config.json")
		if v.Secret == nil || v.Secret.SecretName != "enforce-registry-auth" || key != ".dockerconfigjson" || len(v.Secret.Items) != 1 {
			t.Errorf("%s: /docker/config.json comes from %+v key %q", pod.name, v, key)
		}
	}
	changed := registriesValues(t)
	changed["registries"] = changed["registries"].([]any)[:2]
	if webhookDeployment(t, render(t, changed)).Spec.Template.Annotations["checksum/registries"] == webhookDeployment(t, objs).Spec.Template.Annotations["checksum/registries"] {
		t.Error("a changed registries list keeps the pods' checksum: the pods would keep the old list")
	}
	plain := webhookDeployment(t, render(t, nil))
	if _, ok := arg(plain.Spec.Template.Spec.Containers[0].Args, "registries"); ok || env(plain.Spec.Template.Spec.Containers[0], "DOCKER_CONFIG") != "" {
		t.Error("--registries or DOCKER_CONFIG without the values")
	}
	_, err = renderErr(map[string]any{"registries": []any{map[string]any{"host": "localhost:32000", "mirror": "http://10.0.0.5:5000"}}})
	if err == nil || !strings.Contains(err.Error(), "set plainHTTP: true for localhost:32000") {
		t.Errorf("an http mirror without plainHTTP: %v", err)
	}
	_, err = renderErr(map[string]any{"registries": []any{map[string]any{"host": "harbor.corp.example", "caBundle": "MIIB"}}})
	if err == nil || !strings.Contains(err.Error(), "registries[0].caBundle must be PEM") {
		t.Errorf("a caBundle that is not PEM: %v", err)
	}
}

func mustRepo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
