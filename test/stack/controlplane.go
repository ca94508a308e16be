package stack

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
)

// startControllers runs kube-controller-manager (Deployments, ReplicaSets,
// EndpointSlices, service accounts, kube-root-ca.crt, garbage collection) and
// kube-scheduler, each as its own bootstrap RBAC user, on loopback, with no
// leader election and no cloud.
func (s *Stack) startControllers(ctx context.Context, n *Node, dir string) error {
	kcm, sched := filepath.Join(dir, "controller-manager"), filepath.Join(dir, "scheduler")
	for _, d := range []string{kcm, sched} {
		if err := mkdir(d); err != nil {
			return err
		}
	}
	kcmConfig, schedConfig := filepath.Join(kcm, "kubeconfig"), filepath.Join(sched, "kubeconfig")
	if err := writeTokenKubeconfig(kcmConfig, s.Kube, n.tokens["controller-manager"]); err != nil {
		return err
	}
	if err := writeTokenKubeconfig(schedConfig, s.Kube, n.tokens["scheduler"]); err != nil {
		return err
	}
	insecureTLS := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed healthz
	if err := onFreePorts(1, func(ports []int) error {
		p, err := s.run(ctx, "kube-controller-manager", ToolControllerManager, kcm, nil,
			"--kubeconfig="+kcmConfig, "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", ports[0]),
			"--cert-dir="+filepath.Join(kcm, "certs"), "--leader-elect=false",
			// Each controller acts as its own service account, as in kubeadm clusters.
			"--use-service-account-credentials=true",
			"--service-account-private-key-file="+s.Kube.saKey, "--root-ca-file="+s.Kube.CAFile,
			"--cluster-name="+n.Name,
			"--concurrent-deployment-syncs=2", "--concurrent-replicaset-syncs=2", "--v=1")
		if err != nil {
			return err
		}
		return p.waitReady(ctx, s.readyTimeout(), httpOK(insecureTLS, fmt.Sprintf("https://127.0.0.1:%d/healthz", ports[0])))
	}); err != nil {
		return err
	}
	return onFreePorts(1, func(ports []int) error {
		p, err := s.run(ctx, "kube-scheduler", ToolScheduler, sched, nil,
			"--kubeconfig="+schedConfig, "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", ports[0]),
			"--leader-elect=false", "--v=1")
		if err != nil {
			return err
		}
		return p.waitReady(ctx, s.readyTimeout(), httpOK(insecureTLS, fmt.Sprintf("https://127.0.0.1:%d/healthz", ports[0])))
	})
}
