package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kube is a kube-apiserver (RBAC, static token auth) backed by its own etcd. There
// is no controller-manager, scheduler or kubelet: objects are stored and admitted
// (webhooks included) but pods never run.
type Kube struct {
	URL        string // https://127.0.0.1:port
	Token      string // bearer token of user "admin" in group system:masters
	CAFile     string // CA of the serving certificate
	Kubeconfig string // kubeconfig file for the admin user
	Config     *rest.Config
	EtcdURL    string
	// AuditLog is the audit log (JSON lines, one audit.k8s.io/v1 Event
	// each) when Options.KubeAudit is set, else "".
	AuditLog string
	saKey    string // service-account signing key (the controller-manager's tokens)
}

// Client returns a clientset for the admin user.
func (k *Kube) Client() (*kubernetes.Clientset, error) { return kubernetes.NewForConfig(k.Config) }

func (s *Stack) startKube(ctx context.Context) (*Kube, error) {
	dir := filepath.Join(s.Dir, "kube")
	if err := mkdir(dir); err != nil {
		return nil, err
	}
	etcdURL, err := s.startEtcd(ctx)
	if err != nil {
		return nil, err
	}
	ca, err := newTestCA("signet test kube CA")
	if err != nil {
		return nil, err
	}
	k := &Kube{EtcdURL: etcdURL, Token: randomHex(16), CAFile: filepath.Join(dir, "ca.crt")}
	files, err := writeKubeFiles(dir, ca, k.Token, s.kubeAccess)
	if err != nil {
		return nil, err
	}
	k.saKey = files["sa.key"]
	if err := onFreePorts(1, func(ports []int) error { return s.runAPIServer(ctx, k, dir, files, ca, ports[0]) }); err != nil {
		return nil, err
	}
	if k.Kubeconfig, err = writeKubeconfig(dir, k); err != nil {
		return nil, err
	}
	return k, ensureDefaultServiceAccount(ctx, k)
}

// runAPIServer runs kube-apiserver on port and waits for its readyz.
func (s *Stack) runAPIServer(ctx context.Context, k *Kube, dir string, files map[string]string, ca *testCA, port int) error {
	k.URL = fmt.Sprintf("https://127.0.0.1:%d", port)
	args := []string{"--etcd-servers=" + k.EtcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", port),
		"--tls-cert-file=" + files["serving.crt"], "--tls-private-key-file=" + files["serving.key"],
		"--token-auth-file=" + files["tokens.csv"], "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + files["sa.pub"], "--service-account-signing-key-file=" + files["sa.key"],
		"--service-cluster-ip-range=10.0.0.0/24", "--cert-dir=" + filepath.Join(dir, "certs"),
		// Loopback may not be advertised through the kubernetes Service endpoints.
		"--endpoint-reconciler-type=none", "--profiling=false", "--v=1"}
	if s.opts.KubeAudit {
		k.AuditLog = filepath.Join(dir, "audit.log")
		args = append(args, "--audit-policy-file="+files["audit-policy.yaml"], "--audit-log-path="+k.AuditLog,
			"--audit-log-format=json", "--audit-log-mode=blocking")
	}
	args = append(args, s.opts.KubeArgs...)
	// kubeAccess.args: what a node needs of the apiserver (see startNode).
	p, err := s.runArgs(ctx, "kube-apiserver", ToolAPIServer, dir, nil, s.kubeAccess.args, args...)
	if err != nil {
		return err
	}
	k.Config = &rest.Config{Host: k.URL, BearerToken: k.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: k.CAFile}}
	return p.waitReady(ctx, s.readyTimeout(), readyz(k.URL+"/readyz", k.Token, ca.CertPool()))
}

// startEtcd runs a single-member etcd on loopback and returns its client URL.
func (s *Stack) startEtcd(ctx context.Context) (string, error) {
	return onFreePortsValue(2, func(ports []int) (string, error) { return s.startEtcdOn(ctx, ports[0], ports[1]) })
}

func (s *Stack) startEtcdOn(ctx context.Context, clientPort, peerPort int) (string, error) {
	dir := filepath.Join(s.Dir, "etcd")
	data := filepath.Join(dir, "data")
	// A member that lost a port may have written its peer URL here already.
	if err := os.RemoveAll(data); err != nil {
		return "", err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	p, err := s.run(ctx, "etcd", ToolEtcd, dir, nil,
		"--name=default", "--data-dir="+data,
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=default="+peer, "--log-level=warn")
	if err != nil {
		return "", err
	}
	return client, p.waitReady(ctx, s.readyTimeout(), httpOK(http.DefaultClient, client+"/health"))
}

// writeKubeFiles writes serving cert, service-account keys and the token file.
func writeKubeFiles(dir string, ca *testCA, token string, extra kubeAccess) (map[string]string, error) {
	certPEM, keyPEM, err := ca.issueFor("kube-apiserver",
		[]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		extra.ips, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	put := func(name string, b []byte) error {
		files[name] = filepath.Join(dir, name)
		return os.WriteFile(files[name], b, 0o600)
	}
	saKey, err := writeECKey(filepath.Join(dir, "sa.key"))
	if err != nil {
		return nil, err
	}
	files["sa.key"] = filepath.Join(dir, "sa.key")
	saPub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, err
	}
	var tokens strings.Builder
	w := csv.NewWriter(&tokens) // token,user,uid,"group1,group2"
	for _, row := range append([][]string{{token, "admin", "admin", "system:masters"}}, extra.tokens...) {
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	for name, b := range map[string][]byte{
		"ca.crt": ca.PEM, "serving.crt": certPEM, "serving.key": keyPEM,
		"sa.pub": pemBlock("PUBLIC KEY", saPub), "tokens.csv": []byte(tokens.String()),
		"audit-policy.yaml": []byte(auditPolicy),
	} {
		if err := put(name, b); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// auditPolicy logs every request's metadata (which carries admission
// webhooks' audit annotations) once, when the response is complete.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
`

func writeKubeconfig(dir string, k *Kube) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["signet"] = &clientcmdapi.Cluster{Server: k.URL, CertificateAuthority: k.CAFile}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: k.Token}
	cfg.Contexts["signet"] = &clientcmdapi.Context{Cluster: "signet", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "signet"
	path := filepath.Join(dir, "kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

// readyz polls /readyz as the admin user.
func readyz(url, token string, pool *x509.CertPool) func(context.Context) error {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// ensureDefaultServiceAccount creates default/default, which the ServiceAccount
// admission plugin requires for every pod and which no controller-manager creates here.
func ensureDefaultServiceAccount(ctx context.Context, k *Kube) error {
	cs, err := k.Client()
	if err != nil {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"}}
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating default service account: %w", err)
	}
	return nil
}
