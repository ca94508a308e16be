package enforce

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// configMapVolume is a directory laid out as the kubelet lays out a
// ConfigMap volume: the files live in a timestamped directory, "..data"
// links to it, and each visible name links through "..data". An update
// writes a new timestamped directory and swaps "..data" with one rename,
// so a reader sees the old set or the new set, never a mix of files.
type configMapVolume struct {
	t   *testing.T
	dir string
	gen int
}

func newConfigMapVolume(t *testing.T, files map[string][]byte) *configMapVolume {
	v := &configMapVolume{t: t, dir: t.TempDir()}
	v.update(files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(v.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func (v *configMapVolume) path(name string) string { return filepath.Join(v.dir, name) }

// update writes a new generation and swaps "..data" to it atomically.
func (v *configMapVolume) update(files map[string][]byte) {
	v.t.Helper()
	v.gen++
	ts := fmt.Sprintf("..2026_01_01_00_00_%02d.%09d", v.gen, v.gen)
	if err := os.Mkdir(filepath.Join(v.dir, ts), 0o755); err != nil {
		v.t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(v.dir, ts, name), data, 0o644); err != nil {
			v.t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(v.dir, "..data"))
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		v.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		v.t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(v.dir, old)); err != nil {
			v.t.Fatal(err)
		}
	}
}

func pemOfKey(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

const rotationPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - {name: release-key, key: {path: cosign.pub}}
images:
  - {name: acme, match: [REGISTRY/acme/**], signedBy: [release-key]}
  - {name: default-deny, match: ["**"], deny: only approved registries}
`

// TestRotatedKeyFileReachesARunningReplica: trust.yaml and cosign.pub
// travel in one ConfigMap; the key is rotated with trust.yaml unchanged
// (helm upgrade --set-file keys.cosign\.pub=new.pub). The running reloader
// picks the new key up: an image signed with the new key is admitted and
// one signed with the old key, admitted and cached a moment before, is
// denied. Without it a running replica trusts the leaked key until it
// restarts, while a restarted one trusts the new key.
func TestRotatedKeyFileReachesARunningReplica(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	oldKey := w.Key
	newKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	oldSigned, newSigned := w.Push("acme/app:old"), w.Push("acme/app:new")
	w.Sign(oldSigned, oldSigned, w.KeySigner(oldKey), ocisig.LayoutBundle)
	w.Sign(newSigned, newSigned, w.KeySigner(newKey), ocisig.LayoutBundle)

	trust := []byte(strings.ReplaceAll(rotationPolicy, "REGISTRY", w.Registry))
	vol := newConfigMapVolume(t, map[string][]byte{"trust.yaml": trust, "cosign.pub": pemOfKey(t, oldKey)})
	rl := &Reloader{PolicyPath: vol.path("trust.yaml"), Log: discardLog()}
	if err := rl.Load(); err != nil {
		t.Fatal(err)
	}
	h := &Handler{Decider: NewCache(verify.New(), CacheConfig{}), Policy: rl.Policy}
	admit := func(d fmt.Stringer) bool {
		req := request(t, "Pod", "prod", pod(podSpec(nil, []string{d.String()})), admissionv1.Create, "")
		return h.Validate(context.Background(), req).Allowed
	}
	if !admit(oldSigned) || admit(newSigned) {
		t.Fatal("before the rotation: want the old key's image admitted and the new key's denied")
	}
	interval := 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rl.Watch(ctx, interval) }()
	t.Cleanup(func() { cancel(); <-done })

	hash := rl.Policy().Hash
	rotated := time.Now()
	vol.update(map[string][]byte{"trust.yaml": trust, "cosign.pub": pemOfKey(t, newKey)})
	waitUntil(t, "the running reloader to load the rotated key", func() bool { return rl.Policy().Hash != hash })
	t.Logf("rotated key in force %s after the swap (reload interval %s)", time.Since(rotated).Round(time.Millisecond), interval)
	if !admit(newSigned) {
		t.Fatal("after the rotation, an image signed with the new key is denied")
	}
	if admit(oldSigned) {
		t.Fatal("after the rotation, an image signed with the old key is still admitted")
	}
	if n := rl.PolicyReloads.Load(); n != 1 {
		t.Fatalf("%d reloads for one rotation", n)
	}
}

// TestReloaderRetriesWhenAMissingKeyFileAppears: a trust file naming a
// key file that is not there yet is refused once; when the file appears
// (the kubelet projects it a moment later), the next check loads it.
func TestReloaderRetriesWhenAMissingKeyFileAppears(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	dir := t.TempDir()
	trust := filepath.Join(dir, "trust.yaml")
	writeFile(t, trust, policyA)
	rl := &Reloader{PolicyPath: trust, Log: discardLog()}
	if err := rl.Load(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, trust, strings.ReplaceAll(rotationPolicy, "REGISTRY", w.Registry))
	rl.Check()
	rl.Check()
	if rl.PolicyFailures.Load() != 1 {
		t.Fatalf("a missing key file reported %d times, want once", rl.PolicyFailures.Load())
	}
	writeFile(t, filepath.Join(dir, "cosign.pub"), string(pemOfKey(t, w.Key)))
	rl.Check()
	if rl.PolicyReloads.Load() != 1 || len(rl.Policy().Identities) != 1 {
		t.Fatalf("the key file appeared and the policy was not loaded (reloads %d)", rl.PolicyReloads.Load())
	}
}
