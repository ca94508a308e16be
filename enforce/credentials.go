package enforce

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// Keychain implements Handler.Credentials. It reads nothing yet: the
// secrets are loaded on the first registry call that asks for credentials,
// once per request, so an admission answered from the decision cache never
// touches the API server. A secret that does not exist is skipped, as the
// kubelet does; a failure to read one is reported to the registry call that
// needed it, and the verification then fails closed.
func (ps *PullSecrets) Keychain(ctx context.Context, namespace string, w *Workload) (authn.Keychain, error) {
	// The registry call may come from a shared verification that outlives
	// this request's context; the API reads are bounded on their own.
	return &lazyKeychain{id: pullSecretsID(namespace, w), load: func() (authn.Keychain, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return ps.load(lctx, namespace, w)
	}}, nil
}

// pullSecretsID names where a workload's credentials come from: its
// namespace, service account and pull secrets, in the order the kubelet
// tries them. Two workloads with the same sources authenticate alike;
// nothing secret is in it, and it is known without an API call.
func pullSecretsID(namespace string, w *Workload) string {
	return "pull-secrets:" + namespace + "/" + w.ServiceAccount + "/" + strings.Join(w.PullSecrets, ",")
}

// lazyKeychain loads its keychain on first use.
type lazyKeychain struct {
	id   string
	load func() (authn.Keychain, error)
	once sync.Once
	kc   authn.Keychain
	err  error
}

// CredentialsID implements Credentialed.
func (l *lazyKeychain) CredentialsID() string { return l.id }

// Credentialed is a request keychain (verify.Request.Keychain) that can
// say who it authenticates as without resolving anything: keychains with
// the same CredentialsID send the same credentials to every registry.
type Credentialed interface {
	CredentialsID() string
}

var unsharedKeychains atomic.Int64

// credentialsID identifies a request's registry credentials, for keys of
// work that carries them (verifications and tag resolutions in flight, tag
// resolutions kept): "" for the webhook's own credentials alone, or the
// keychain's CredentialsID. A keychain that cannot say gets an identity no
// other request shares, and shared is false: nothing read with it is kept
// for later requests.
func credentialsID(kc authn.Keychain) (id string, shared bool) {
	switch kc := kc.(type) {
	case nil:
		return "", true
	case Credentialed:
		return kc.CredentialsID(), true
	default:
		return fmt.Sprintf("unshared:%d", unsharedKeychains.Add(1)), false
	}
}

func (l *lazyKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	l.once.Do(func() { l.kc, l.err = l.load() })
	if l.err != nil {
		return nil, l.err
	}
	if l.kc == nil {
		return authn.Anonymous, nil
	}
	return l.kc.Resolve(r)
}

func (ps *PullSecrets) load(ctx context.Context, namespace string, w *Workload) (authn.Keychain, error) {
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
