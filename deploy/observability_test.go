package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/signet-dev/signet/test/stack"
)

var observabilityValues = map[string]any{"metrics": map[string]any{
	"serviceMonitor":   map[string]any{"enabled": true},
	"prometheusRule":   map[string]any{"enabled": true},
	"grafanaDashboard": map[string]any{"enabled": true},
}}

// targetLabels are added by Prometheus to every scraped series; the binary
// does not export them. (namespace too, on series that have no namespace
// label of their own: see targetLabel.)
var targetLabels = map[string]bool{"job": true, "instance": true, "pod": true, "container": true, "service": true}

// targetLabel: the ServiceMonitor's targets carry namespace, which a series
// keeps unless it has a namespace label of its own (honorLabels: signet's
// per-request namespace wins).
func targetLabel(l string, have map[string]map[string]bool) bool {
	_, own := have[l]
	return targetLabels[l] || l == "namespace" && !own
}

// externalMetrics are series the alerts read that enforce cannot export,
// because they must exist while no enforce replica runs, with the labels
// their source gives them: Prometheus' own per-target up, and
// kube-state-metrics' Deployment status.
var externalMetrics = map[string][]string{
	"up": {"namespace", "job", "pod", "instance", "service"},
	"kube_deployment_status_replicas_available": {"namespace", "deployment"},
}

// chartQueries collects every PromQL expression the chart ships: alert rules
// and dashboard panels, named for error messages.
func chartQueries(t *testing.T) map[string]query {
	t.Helper()
	objs := render(t, observabilityValues)
	out := map[string]query{}
	rules := ofKind(objs, "PrometheusRule")
	if len(rules) != 1 {
		t.Fatalf("want one PrometheusRule, rendered %d", len(rules))
	}
	groups, _, _ := unstructured.NestedSlice(rules[0].Object, "spec", "groups")
	for _, g := range groups {
		rs, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range rs {
			r := r.(map[string]any)
			out["alert "+r["alert"].(string)] = parseQuery(r["expr"].(string))
		}
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	var cm *corev1.ConfigMap
	for _, c := range all[*corev1.ConfigMap](objs) {
		if c.Name == fullname+"-dashboard" {
			cm = c
		}
	}
	if cm == nil || json.Unmarshal([]byte(cm.Data["signet-enforce.json"]), &dash) != nil || len(dash.Panels) == 0 {
		t.Fatalf("no dashboard with panels in the rendered ConfigMap %v", cm)
	}
	for _, p := range dash.Panels {
		for i, tg := range p.Targets {
			out[fmt.Sprintf("panel %q query %d", p.Title, i)] = parseQuery(tg.Expr)
		}
	}
	labelValues := regexp.MustCompile(`^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),\s*([a-zA-Z_]+)\)$`)
	for _, v := range dash.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			out["variable "+v.Name] = query{expr: v.Definition, selectors: []selector{{metric: m[1], labels: map[string][]string{m[2]: nil}}}}
		}
	}
	return out
}

// TestDashboardAndAlertsUseRealMetrics scrapes the enforce binary's real
// /metrics after it has allowed, denied and failed on a registry, and checks
// that every metric, label and label value each alert and dashboard query
// names is one the binary exports.
func TestDashboardAndAlertsUseRealMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs enforce")
	}
	families := scrapeEnforce(t)
	for where, q := range chartQueries(t) {
		var labelsSeen []string
		for _, sel := range q.selectors {
			if known, ok := externalMetrics[sel.metric]; ok {
				for l := range sel.labels {
					if !slices.Contains(known, l) {
						t.Errorf("%s: %s has no label %q (%s)", where, sel.metric, l, q.expr)
					}
				}
				continue
			}
			fam, ok := family(families, sel.metric)
			if !ok {
				t.Errorf("%s: metric %s is not exported by enforce (%s)", where, sel.metric, q.expr)
				continue
			}
			have := familyLabels(fam)
			labelsSeen = append(labelsSeen, keys(have)...)
			for l, vals := range sel.labels {
				if targetLabel(l, have) {
					continue
				}
				if _, ok := have[l]; !ok {
					t.Errorf("%s: %s has no label %q (labels: %v)", where, sel.metric, l, keys(have))
				}
				for _, v := range vals {
					if !have[l][v] {
						t.Errorf("%s: %s{%s} never takes the value %q (seen: %v)", where, sel.metric, l, v, keys(have[l]))
					}
				}
			}
		}
		for _, l := range q.groupBy {
			if !targetLabels[l] && !slices.Contains(labelsSeen, l) {
				t.Errorf("%s: groups by %q, which none of its metrics carries (%s)", where, l, q.expr)
			}
		}
	}
}

// TestServiceMonitorScrapesOpsPort: the ServiceMonitor selects exactly two
// Services, the webhook's and the background verifier's metrics Services
// (Prometheus names their jobs after them, which the alerts select), and each
// reaches, through the ServiceMonitor's port, the container port its own pods
// serve /metrics on.
func TestServiceMonitorScrapesOpsPort(t *testing.T) {
	objs := render(t, observabilityValues)
	sms := ofKind(objs, "ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("want one ServiceMonitor, rendered %d", len(sms))
	}
	eps, _, _ := unstructured.NestedSlice(sms[0].Object, "spec", "endpoints")
	sel, _, _ := unstructured.NestedStringMap(sms[0].Object, "spec", "selector", "matchLabels")
	if len(eps) != 1 {
		t.Fatalf("endpoints %v", eps)
	}
	ep := eps[0].(map[string]any)
	if ep["path"] != "/metrics" || ep["honorLabels"] != true {
		t.Errorf("endpoint %v: want path /metrics and honorLabels (signet's namespace label is the request's)", ep)
	}
	scraped := map[string]*appsv1.Deployment{fullname + "-metrics": webhookDeployment(t, objs), scannerName + "-metrics": scannerDeployment(t, objs)}
	var selected []string
	for _, svc := range all[*corev1.Service](objs) {
		if !matchesAll(svc.Labels, sel) {
			continue
		}
		selected = append(selected, svc.Name)
		d, ok := scraped[svc.Name]
		if !ok {
			t.Errorf("the ServiceMonitor selects Service %s", svc.Name)
			continue
		}
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Service %s does not select the pods of %s", svc.Name, d.Name)
		}
		if err := reachesOps(svc, d.Spec.Template.Spec.Containers[0], ep["port"]); err != nil {
			t.Errorf("Service %s: %v", svc.Name, err)
		}
	}
	if len(selected) != len(scraped) {
		t.Errorf("the ServiceMonitor selects %v, want %v", selected, keys(scraped))
	}
}

// reachesOps: the Service port named port targets the container port that
// --ops-listen opens.
func reachesOps(svc *corev1.Service, c corev1.Container, port any) error {
	ops, _ := arg(c.Args, "ops-listen")
	for _, p := range svc.Spec.Ports {
		if p.Name != port {
			continue
		}
		for _, cp := range c.Ports {
			if cp.Name == p.TargetPort.String() && ":"+fmt.Sprint(cp.ContainerPort) == ops {
				return nil
			}
		}
		return fmt.Errorf("port %s targets %s, not the container port of --ops-listen=%s", p.Name, p.TargetPort.String(), ops)
	}
	return fmt.Errorf("no port %v", port)
}

func matchesAll(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return len(want) > 0
}

// family finds a metric family by series name (histogram series carry
// _bucket, _sum and _count).
func family(fams map[string]*dto.MetricFamily, series string) (*dto.MetricFamily, bool) {
	if f, ok := fams[series]; ok {
		return f, true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suf); ok {
			if f, ok := fams[base]; ok && (f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY) {
				return f, true
			}
		}
	}
	return nil, false
}

// familyLabels maps each label of a family to the values seen (plus le for
// histograms).
func familyLabels(f *dto.MetricFamily) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, m := range f.Metric {
		for _, lp := range m.Label {
			if out[lp.GetName()] == nil {
				out[lp.GetName()] = map[string]bool{}
			}
			out[lp.GetName()][lp.GetValue()] = true
		}
	}
	if f.GetType() == dto.MetricType_HISTOGRAM {
		out["le"] = map[string]bool{}
	}
	return out
}

// scrapeEnforce runs the enforce binary twice, as the chart does: a webhook
// that is sent admissions that are allowed, denied, and denied for a
// registry error, on both endpoints; and a background verifier on a real
// kube-apiserver that has won its Lease and finished a pass. It returns
// their parsed /metrics, merged.
func scrapeEnforce(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "enforce")
	build := exec.Command("go", "build", "-o", bin, "github.com/signet-dev/signet/cmd/enforce")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building enforce: %v\n%s", err, out)
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	img, _ := random.Image(64, 1)
	ref, _ := name.ParseReference(host + "/vendor/app:v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	policyPath := filepath.Join(dir, "trust.yaml")
	if err := remote.Write(ref.Context().Registry.Repo("signed", "app").Tag("v1"), img); err != nil {
		t.Fatal(err)
	}
	// signed/ needs a keyless signature: deciding it loads the (embedded,
	// --offline) public-good trusted root, which the trusted-root metrics
	// then describe.
	writeTestFile(t, policyPath, fmt.Sprintf(`apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: gh
    keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}
images:
  - {name: vendor, match: [%[1]s/vendor/**], signature: optional}
  - {name: signed, match: [%[1]s/signed/**], signedBy: [gh]}
  - {name: down, match: [127.0.0.1:1/**], signature: optional}
  - {name: default-deny, match: ["**"], deny: not approved}
`, host))
	cert, key, pool := selfSignedCert(t, dir)
	hookAddr, opsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--policy", policyPath, "--tls-cert", cert, "--tls-key", key,
		"--listen", hookAddr, "--ops-listen", opsAddr, "--deadline", "3s", "--offline")
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitHTTP(t, "http://"+opsAddr+"/readyz")
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for i, image := range []string{host + "/vendor/app:v1", "example.com/other:v1", "127.0.0.1:1/app:v1", host + "/signed/app:v1"} {
		for _, path := range []string{"/mutate", "/validate"} {
			admit(t, c, "https://"+hookAddr+path, fmt.Sprintf("p%d", i), image)
		}
	}
	fams := scrape(t, opsAddr)
	for name, f := range scrapeScanner(t, bin, policyPath, cert, key) {
		if _, ok := fams[name]; !ok {
			fams[name] = f
		}
	}
	return fams
}

// scrapeScanner runs enforce as the chart's background verifier against the
// stack's kube-apiserver and scrapes it once it leads and a pass finished.
func scrapeScanner(t *testing.T, bin, policyPath, cert, key string) map[string]*dto.MetricFamily {
	t.Helper()
	s := stack.New(t, stack.Options{Kube: true})
	// A pod the trust file refuses, so the pass has a violation to count.
	kc, err := s.Kube.Client()
	if err != nil {
		t.Fatal(err)
	}
	refused := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "refused", Namespace: "default"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "example.com/other@sha256:" + strings.Repeat("0", 64)}}}}
	if _, err := kc.CoreV1().Pods("default").Create(t.Context(), refused, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	opsAddr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--policy", policyPath, "--tls-cert", cert, "--tls-key", key, "--offline",
		"--listen", freeAddr(t), "--ops-listen", opsAddr, "--kubeconfig", s.Kube.Kubeconfig,
		"--background-scan=true", "--lease-namespace", "default", "--lease-identity", "scanner-0")
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var fams map[string]*dto.MetricFamily
	waitFor(t, time.Minute, "the background verifier to lead and finish a pass", func() error {
		var err error
		if fams, err = scrapeErr(opsAddr); err != nil {
			return err
		}
		leader, passes := fams["signet_scan_leader"], fams["signet_scan_duration_seconds"]
		if leader == nil || len(leader.Metric) == 0 || leader.Metric[0].GetGauge().GetValue() != 1 {
			return fmt.Errorf("signet_scan_leader is %v", leader)
		}
		if passes == nil || len(passes.Metric) == 0 {
			return fmt.Errorf("no finished pass (signet_scan_duration_seconds)")
		}
		if v := fams["signet_scan_violations"]; v == nil || len(v.Metric) == 0 {
			return fmt.Errorf("the refused pod is not counted (signet_scan_violations)")
		}
		return nil
	})
	return fams
}

// scrape parses the /metrics of the ops listener at addr.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := scrapeErr(addr)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func scrapeErr(addr string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

func admit(t *testing.T, c *http.Client, url, name, image string) {
	t.Helper()
	raw, _ := json.Marshal(&corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "tenant-a"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}})
	body, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: types.UID("u-" + name), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: "tenant-a", Name: name,
			Operation: admissionv1.Create, Object: k8sruntime.RawExtension{Raw: raw}}})
	resp, err := c.Post(url, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d", url, resp.StatusCode)
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not ready: %v", url, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", stack.FreePort(t))
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// selfSignedCert writes a serving certificate for 127.0.0.1 and returns the
// paths and a pool that trusts it.
func selfSignedCert(t *testing.T, dir string) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "enforce"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeTestFile(t, certPath, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeTestFile(t, keyPath, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	return certPath, keyPath, pool
}
