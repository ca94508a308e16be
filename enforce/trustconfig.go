package enforce

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/policy"
)

// TrustConfigPath is the endpoint that validates enforce's own trust ConfigMap
// (the Helm chart registers it for that one ConfigMap, selected by name). A
// running webhook keeps its last good policy when the file breaks, but a pod
// that restarts on a broken file cannot start, and with failurePolicy Fail that
// locks the cluster: so a ConfigMap whose trust file would not load is refused
// before it is stored.
const TrustConfigPath = "/validate-trust-config"

// TrustConfig validates a trust ConfigMap exactly as enforce will load it once
// mounted: the file under Key, parsed with paths resolving against MountDir,
// where the ConfigMap's other keys (public keys, a trusted_root.json) appear
// beside it. That holds because the pod mounts the ConfigMap whole (no items):
// every key, data or binaryData, is a file in MountDir and nothing else is, so
// what Check accepts is exactly what the pod can load.
type TrustConfig struct {
	// Key holds the trust file (trust.yaml).
	Key string
	// MountDir is the directory the ConfigMap is mounted at in enforce's pod.
	MountDir string
}

// NewTrustConfig validates ConfigMaps mounted the way policyPath is: the key
// is its base name, the mount its directory.
func NewTrustConfig(policyPath string) *TrustConfig {
	return &TrustConfig{Key: filepath.Base(policyPath), MountDir: filepath.Dir(policyPath)}
}

// Review allows a ConfigMap whose trust file loads and denies one that does not,
// with every error at file:line:column.
func (tc *TrustConfig) Review(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if req.Kind.Kind != "ConfigMap" || (req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return resp
	}
	var cm corev1.ConfigMap
	if err := json.Unmarshal(req.Object.Raw, &cm); err != nil {
		return refuse(resp, fmt.Sprintf("signet could not read ConfigMap %s/%s: %v", req.Namespace, req.Name, err))
	}
	if err := tc.Check(&cm); err != nil {
		return refuse(resp, fmt.Sprintf("signet refused ConfigMap %s/%s: its trust file would not load, so enforce could not start with it:\n%v", req.Namespace, req.Name, err))
	}
	return resp
}

// Check loads the ConfigMap's trust file as enforce would.
func (tc *TrustConfig) Check(cm *corev1.ConfigMap) error {
	data, ok := configMapFile(cm, tc.Key)
	if !ok {
		return fmt.Errorf("no %s key", tc.Key)
	}
	_, err := policy.Parse(data, policy.WithSource(tc.Key), policy.WithBaseDir(tc.MountDir),
		policy.WithReadFile(tc.readFrom(cm)))
	return err
}

// configMapFile is the content of the file a ConfigMap volume makes of key.
func configMapFile(cm *corev1.ConfigMap, key string) ([]byte, bool) {
	if v, ok := cm.Data[key]; ok {
		return []byte(v), true
	}
	v, ok := cm.BinaryData[key]
	return v, ok
}

// readFrom serves files beside the trust file from the ConfigMap's keys. A path
// elsewhere is refused: only what travels in the ConfigMap is in the pod.
func (tc *TrustConfig) readFrom(cm *corev1.ConfigMap) func(string) ([]byte, error) {
	return func(path string) ([]byte, error) {
		if filepath.Dir(path) != filepath.Clean(tc.MountDir) {
			return nil, fmt.Errorf("%s is outside %s: files the trust file names by path travel in the same ConfigMap (the chart's keys map) and are mounted beside it", path, tc.MountDir)
		}
		if v, ok := configMapFile(cm, filepath.Base(path)); ok {
			return v, nil
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: errors.New("no such key in the ConfigMap (add it to the chart's keys map)")}
	}
}

func refuse(resp *admissionv1.AdmissionResponse, msg string) *admissionv1.AdmissionResponse {
	resp.Allowed = false
	resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: 422, Reason: metav1.StatusReasonInvalid, Message: msg}
	return resp
}
