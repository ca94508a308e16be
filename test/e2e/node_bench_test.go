package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/verdict"
	"github.com/signet-dev/signet/verify"
)

// nodeBench is what BenchmarkNodePodStart needs, made once per test binary:
// a node (stack.Shared), a signed image, the trust file, a verdict key and
// the signet-node binary.
type nodeBench struct {
	s       *stack.Stack
	kc      kubernetes.Interface
	image   string // repo@digest, signed
	policy  string // trust file path
	p       *policy.Policy
	signer  *verdict.Signer
	pubPath string
	plugin  string // signet-node binary
}

var (
	nodeBenchOnce sync.Once
	nodeBenchEnv  *nodeBench
	nodeBenchErr  error
)

func newNodeBench(b *testing.B) *nodeBench {
	nodeBenchOnce.Do(func() { nodeBenchEnv, nodeBenchErr = setupNodeBench(b) })
	if nodeBenchErr != nil {
		b.Fatal(nodeBenchErr)
	}
	return nodeBenchEnv
}

func setupNodeBench(b *testing.B) (*nodeBench, error) {
	s, err := stack.Shared(stack.Options{Node: true})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "signet-node-bench-")
	if err != nil {
		return nil, err
	}
	nb := &nodeBench{s: s}
	if nb.kc, err = s.Kube.Client(); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "COSIGN_PASSWORD=node-bench")
	keygen := exec.Command(signBin, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign"))
	keygen.Env = env
	if out, err := keygen.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("generate-key-pair: %v\n%s", err, out)
	}
	reg := s.Node.RegistryHost
	trust := strings.NewReplacer("REG", reg, "VENDOR", "signature: optional").Replace(nodeTrust)
	nb.policy = filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(nb.policy, []byte(trust), 0o644); err != nil {
		return nil, err
	}
	bin, err := stack.BuildStatic(ctx, dir, "github.com/signet-dev/signet/test/stack/cmd/pause")
	if err != nil {
		return nil, err
	}
	pinned, err := stack.PushBinaryImage(ctx, reg+"/apps/app:bench", stack.BinaryImage{Binary: bin, Path: "/app"})
	if err != nil {
		return nil, err
	}
	nb.image = pinned
	cmd := exec.Command(signBin, "image", "--key", filepath.Join(dir, "cosign.key"), "--policy", nb.policy, "--tlog-upload=false", pinned)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sign image: %v\n%s", err, out)
	}
	if nb.p, err = policy.LoadFile(nb.policy); err != nil {
		return nil, err
	}
	priv, pub, err := verdict.GenerateKey()
	if err != nil {
		return nil, err
	}
	if nb.signer, err = verdict.NewSigner(priv); err != nil {
		return nil, err
	}
	nb.pubPath = filepath.Join(dir, "verdict.pub")
	if err := os.WriteFile(nb.pubPath, pub, 0o644); err != nil {
		return nil, err
	}
	nb.plugin, err = stack.BuildStatic(ctx, dir, "github.com/signet-dev/signet/cmd/signet-node")
	return nb, err
}

// startPlugin runs signet-node on the host, connected to the node's NRI
// socket, and waits until it is registered.
func (nb *nodeBench) startPlugin(b *testing.B) func() {
	addr := fmt.Sprintf("127.0.0.1:%d", stack.FreePort(b))
	cmd := exec.Command(nb.plugin, "run", "--policy", nb.policy, "--nri-socket", nb.s.Node.NRISocket, "--verdict-public-key", nb.pubPath,
		"--ops-listen", addr, "--offline")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop
			}
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("signet-node did not connect: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a readiness endpoint, not synchronising on time
	}
}

// verdictFor signs what the webhook would have admitted for pod name.
func (nb *nodeBench) verdictFor(b *testing.B, pod string) string {
	s, d := verify.Prepare(verify.Request{Image: nb.image, Policy: nb.p})
	if d != nil {
		b.Fatal(d.Messages())
	}
	_, digest, _ := strings.Cut(nb.image, "@")
	env, err := nb.signer.Sign(&verdict.Claim{Namespace: "default", Pod: pod, PolicyHash: nb.p.Hash, Time: time.Now(),
		Images: []verdict.Image{{Repository: s.Ref.Context().Name(), Digest: digest, RuleHash: s.Match.Rule.Hash}}})
	if err != nil {
		b.Fatal(err)
	}
	return env
}

// startPod creates a pod bound to the node (no scheduler, no webhook) and
// returns how long it took until its container ran, as the API server
// reports it. The pod is deleted outside the timer.
func (nb *nodeBench) startPod(b *testing.B, name string, annotations map[string]string) {
	ctx := context.Background()
	pods := nb.kc.CoreV1().Pods("default")
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	p := runPod(name, nb.image)
	p.Annotations = annotations
	p.Spec.NodeName = nb.s.Node.Name
	p.Spec.AutomountServiceAccountToken = ptr(false)
	b.StartTimer()
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	timeout := time.After(2 * time.Minute)
	for running := false; !running; {
		select {
		case ev := <-w.ResultChan():
			if pod, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted {
				running = pod.Status.Phase == corev1.PodRunning
				for _, st := range pod.Status.ContainerStatuses {
					if st.State.Waiting != nil && strings.Contains(st.State.Waiting.Message, "signet-node denied") {
						b.Fatalf("pod %s refused: %s", name, st.State.Waiting.Message)
					}
				}
			}
		case <-timeout:
			b.Fatalf("pod %s not running after 2m", name)
		}
	}
	b.StopTimer()
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkNodePodStart is pod start latency on the real node (create to
// Running, as the API server reports it), side by side: no NRI plugin;
// signet-node deciding from the pod's verdict; signet-node verifying the
// digest (kept by its cache after the first pod). The kubelet reports a
// started container on its next relist (about 1 s), so differences below
// that are not visible here; BenchmarkNodeDecision (enforce/node) measures
// the plugin's own time.
func BenchmarkNodePodStart(b *testing.B) {
	nb := newNodeBench(b)
	n := 0
	name := func(kind string) string {
		n++
		return fmt.Sprintf("bench-%s-%d-%d", kind, time.Now().UnixNano()%1e6, n)
	}
	b.Run("no-plugin", func(b *testing.B) {
		b.StopTimer()
		for i := 0; i < b.N; i++ {
			nb.startPod(b, name("none"), nil)
		}
	})
	stop := nb.startPlugin(b)
	defer stop()
	b.Run("plugin-verdict", func(b *testing.B) {
		b.StopTimer()
		for i := 0; i < b.N; i++ {
			pod := name("verdict")
			nb.startPod(b, pod, map[string]string{verdict.Annotation: nb.verdictFor(b, pod)})
		}
	})
	b.Run("plugin-verify", func(b *testing.B) {
		b.StopTimer()
		for i := 0; i < b.N; i++ {
			nb.startPod(b, name("verify"), nil)
		}
	})
}
