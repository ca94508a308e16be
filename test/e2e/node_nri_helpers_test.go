package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/tools/release"
	"github.com/signet-dev/signet/verdict"
)

// nodePlugin reads the signet-node pod's ops port (/healthz, /metrics) on
// its pod IP, as a Prometheus scrape would.
type nodePlugin struct {
	t  *testing.T
	kc kubernetes.Interface
}

func (p nodePlugin) get(path string) (int, string, error) {
	for _, pod := range podsOf(p.t, p.kc, releaseNS, "app.kubernetes.io/name=signet-node") {
		if pod.DeletionTimestamp != nil || pod.Status.PodIP == "" || pod.Status.Phase != corev1.PodRunning {
			continue
		}
		c := &http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://" + pod.Status.PodIP + ":9091" + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	return 0, "", fmt.Errorf("no running signet-node pod")
}

// waitConnected waits until the plugin reports it is registered with the runtime.
func (p nodePlugin) waitConnected() {
	p.t.Helper()
	waitFor(p.t, 2*time.Minute, "signet-node connected to the runtime's NRI socket", func() error {
		code, body, err := p.get("/healthz")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("/healthz %d %q: %v", code, body, err)
		}
		return nil
	})
}

// metric sums the samples of name whose labels contain labels.
func (p nodePlugin) metric(name, labels string) (float64, string) {
	p.t.Helper()
	_, body, err := p.get("/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	var sum float64
	var lastLabels string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, labels) {
			continue
		}
		i := strings.LastIndex(line, " ")
		v, _ := strconv.ParseFloat(line[i+1:], 64)
		sum += v
		lastLabels = line[len(name):i]
	}
	return sum, lastLabels
}

func (p nodePlugin) count(labels string) float64 {
	v, _ := p.metric("signet_node_decisions_total", labels)
	return v
}

// policy is the hash of the trust file the plugin decides with.
func (p nodePlugin) policy() string {
	_, labels := p.metric("signet_node_policy_info", "")
	_, h, _ := strings.Cut(labels, `hash="`)
	return strings.TrimSuffix(h, `"}`)
}

// waitPolicyChange waits until the plugin has reloaded a trust file other than old.
func (p nodePlugin) waitPolicyChange(old string) {
	p.t.Helper()
	waitFor(p.t, 2*time.Minute, "signet-node to read the new trust file", func() error {
		if h := p.policy(); h == old || h == "" {
			return fmt.Errorf("still %q", h)
		}
		return nil
	})
}

// createVerdictSecret makes the verdict key pair the chart's node.verdictSecret names.
func createVerdictSecret(t *testing.T, kc kubernetes.Interface) {
	t.Helper()
	priv, pub, err := verdict.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: verdictSecret, Namespace: releaseNS},
		Data: map[string][]byte{"verdict.key": priv, "verdict.pub": pub}}
	if _, err := kc.CoreV1().Secrets(releaseNS).Create(t.Context(), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func verdictOf(p *corev1.Pod) (string, error) {
	v := p.Annotations[verdict.Annotation]
	if v == "" {
		return "", fmt.Errorf("pod %s has no %s annotation", p.Name, verdict.Annotation)
	}
	return v, nil
}

// writeStaticPod puts a pod manifest in the kubelet's staticPodPath: the
// kubelet runs it without the API server (its mirror pod is named
// NAME-<node>).
func writeStaticPod(t *testing.T, n *stack.Node, name, image string) {
	t.Helper()
	p := runPod(name, image)
	p.APIVersion, p.Kind, p.Namespace = "v1", "Pod", appsNS
	b, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.StaticPodDir, name+".yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(n.StaticPodDir, name+".yaml")) })
}

const stateRunning = "CONTAINER_RUNNING"

// waitContainer waits until the runtime holds a container of the pod in state.
func waitContainer(t *testing.T, n *stack.Node, ns, pod, state string) {
	t.Helper()
	waitFor(t, 2*time.Minute, "a "+state+" container of "+ns+"/"+pod, func() error {
		cs, err := n.Containers(t.Context())
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.Namespace == ns && c.Pod == pod && c.State == state {
				return nil
			}
		}
		return fmt.Errorf("none")
	})
}

// assertNotRunning: the runtime runs no container of the pod.
func assertNotRunning(t *testing.T, n *stack.Node, ns, pod string) {
	t.Helper()
	cs, err := n.Containers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Namespace == ns && c.Pod == pod && c.State == stateRunning {
			t.Errorf("container %s of %s/%s runs (%s)", c.Name, ns, pod, c.ImageID)
		}
	}
}

// bypassWebhooks deletes the release's webhook configurations, as during an
// incident, and waits until the apiserver admits an unsigned pod; restore
// puts them back and waits until signet answers again.
func bypassWebhooks(t *testing.T, kc kubernetes.Interface) (restore func()) {
	t.Helper()
	ctx := t.Context()
	ar := kc.AdmissionregistrationV1()
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + releaseName}
	muts, err := ar.MutatingWebhookConfigurations().List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := ar.ValidatingWebhookConfigurations().List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range muts.Items {
		if err := ar.MutatingWebhookConfigurations().Delete(ctx, m.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range vals.Items {
		if err := ar.ValidatingWebhookConfigurations().Delete(ctx, v.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	probe := func() error {
		_, err := kc.CoreV1().Pods(appsNS).Create(ctx, runPod("probe-"+randSuffix(), "example.invalid/x:1"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	waitFor(t, time.Minute, "the apiserver to stop calling the webhooks", probe)
	return func() {
		for _, m := range muts.Items {
			m.ObjectMeta = metav1.ObjectMeta{Name: m.Name, Labels: m.Labels, Annotations: m.Annotations}
			if _, err := ar.MutatingWebhookConfigurations().Create(ctx, &m, metav1.CreateOptions{}); err != nil {
				t.Error(err)
			}
		}
		for _, v := range vals.Items {
			v.ObjectMeta = metav1.ObjectMeta{Name: v.Name, Labels: v.Labels, Annotations: v.Annotations}
			if _, err := ar.ValidatingWebhookConfigurations().Create(ctx, &v, metav1.CreateOptions{}); err != nil {
				t.Error(err)
			}
		}
		waitFor(t, time.Minute, "the webhooks to answer again", func() error { return deniedBySignet(probe()) })
	}
}

// nodeImage builds the release's signet-node image for this machine and
// pushes it to the stack's registry; it returns repository and digest.
func nodeImage(t *testing.T, ctx context.Context, s *stack.Stack) (repo, digest string) {
	t.Helper()
	for _, spec := range release.Images {
		if spec.Binary != "signet-node" {
			continue
		}
		repo = s.Registry.Host + "/signet-dev/" + spec.Repository
		d, err := release.PushHostImage(ctx, release.HostImageOptions{Log: t.Logf}, spec, repo+":test")
		if err != nil {
			t.Fatal(err)
		}
		return repo, d.DigestStr()
	}
	t.Fatal("the release has no signet-node image")
	return "", ""
}
