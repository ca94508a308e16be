package enforce

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// PullSecrets reads a workload's registry credentials the way the kubelet
// would: the pod's imagePullSecrets, then its service account's. Only
// namespaced gets are needed (RBAC: get secrets, get serviceaccounts).
type PullSecrets struct {
	Client kubernetes.Interface
}

// Keychain implements Handler.Credentials. A secret that does not exist is
// skipped, as the kubelet does; the pull (and so the verification) then
// proceeds without it and fails closed if the registry needs it.
func (ps *PullSecrets) Keychain(ctx context.Context, namespace string, w *Workload) (authn.Keychain, error) {
	names := append([]string{}, w.PullSecrets...)
	sa, err := ps.Client.CoreV1().ServiceAccounts(namespace).Get(ctx, w.ServiceAccount, metav1.GetOptions{})
	switch {
	case err == nil:
		for _, ref := range sa.ImagePullSecrets {
			names = append(names, ref.Name)
		}
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading service account %s/%s: %w", namespace, w.ServiceAccount, err)
	}
	var secrets []*corev1.Secret
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		s, err := ps.Client.CoreV1().Secrets(namespace).Get(ctx, n, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading pull secret %s/%s: %w", namespace, n, err)
		}
		secrets = append(secrets, s)
	}
	if len(secrets) == 0 {
		return nil, nil
	}
	return newPullSecretKeychain(secrets)
}
