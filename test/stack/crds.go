package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// KyvernoVersion is the Kyverno release whose wgpolicyk8s.io CRDs tests
// install in place of the chart's: what a cluster that runs Kyverno has.
const KyvernoVersion = "v1.13.4"

// KyvernoReportCRDs downloads Kyverno's module from the Go module proxy
// (once; the module cache keeps it) and returns the paths of its
// wgpolicyk8s.io PolicyReport and ClusterPolicyReport CRDs.
func KyvernoReportCRDs(ctx context.Context) ([]string, error) {
	dir, err := os.MkdirTemp("", "signet-kyverno-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, goBinary(), "mod", "download", "-json", "github.com/kyverno/kyverno@"+KyvernoVersion)
	cmd.Dir, cmd.Env = dir, buildEnv()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("downloading github.com/kyverno/kyverno@%s: %w", KyvernoVersion, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, err
	}
	crds := filepath.Join(info.Dir, "config", "crds", "policyreport")
	return []string{filepath.Join(crds, "wgpolicyk8s.io_policyreports.yaml"), filepath.Join(crds, "wgpolicyk8s.io_clusterpolicyreports.yaml")}, nil
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs creates the CRDs in files (each one YAML document) and waits
// until the apiserver serves them.
func InstallCRDs(ctx context.Context, dyn dynamic.Interface, files ...string) error {
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &u.Object); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, err := dyn.Resource(crdResource).Create(ctx, u, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}); err != nil {
			return fmt.Errorf("creating CRD from %s: %w", f, err)
		}
		if err := waitEstablished(ctx, dyn, u.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// DeleteCRDs deletes the named CRDs and waits until they are gone.
func DeleteCRDs(ctx context.Context, dyn dynamic.Interface, names ...string) error {
	for _, n := range names {
		if err := dyn.Resource(crdResource).Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err := poll(ctx, func() (bool, error) {
			_, err := dyn.Resource(crdResource).Get(ctx, n, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}); err != nil {
			return fmt.Errorf("waiting for CRD %s to be deleted: %w", n, err)
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	err := poll(ctx, func() (bool, error) {
		u, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CRD %s to be established: %w", name, err)
	}
	return nil
}

// poll checks cond every 50ms for up to 30s.
func poll(ctx context.Context, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return err
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}
