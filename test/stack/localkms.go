package stack

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// LocalKMS is a running local-kms: the AWS KMS API on loopback plain HTTP,
// seeded with one ECC P-256 SIGN_VERIFY key under an alias. AWS SDK clients
// reach it with Env (AWS_ENDPOINT_URL_KMS and throwaway credentials) and
// the key as awskms:///alias/<Alias>.
type LocalKMS struct {
	URL   string // http://127.0.0.1:port
	Alias string // alias/…
	Env   []string
}

// KeyURI is the sigstore KMS URI of the seeded key.
func (k *LocalKMS) KeyURI() string { return "awskms:///" + k.Alias }

// StartLocalKMS builds (once, cached) and starts local-kms with key as its
// one asymmetric key, named alias ("alias/release"); it stops at t's end.
func StartLocalKMS(t testing.TB, key *ecdsa.PrivateKey, alias string) *LocalKMS {
	t.Helper()
	ctx := context.Background()
	bin, err := ToolLocalKMS.Ensure(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	seed := map[string]any{
		"Keys": map[string]any{"Asymmetric": map[string]any{"Ecc": []any{map[string]any{
			"Metadata":      map[string]any{"KeyId": "6a5e3d3c-2f0b-4c57-9d2a-5a1b7e0c9f11", "KeyUsage": "SIGN_VERIFY", "Description": "signet test key"},
			"PrivateKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})),
		}}}},
		"Aliases": []any{map[string]any{"AliasName": alias, "TargetKeyId": "6a5e3d3c-2f0b-4c57-9d2a-5a1b7e0c9f11"}},
	}
	seedPath, err := writeYAML(dir, "seed.yaml", seed)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := onFreePortsValue(1, func(ports []int) (string, error) { return startLocalKMSOn(t, bin, dir, seedPath, ports[0]) })
	if err != nil {
		t.Fatal(err)
	}
	k := &LocalKMS{URL: "http://" + addr, Alias: alias}
	k.Env = []string{"AWS_ENDPOINT_URL_KMS=" + k.URL, "AWS_ACCESS_KEY_ID=signet-test", "AWS_SECRET_ACCESS_KEY=signet-test",
		"AWS_REGION=eu-west-2", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	return k
}

// startLocalKMSOn runs local-kms on port with a fresh data directory, waits
// until it accepts connections and returns its address.
func startLocalKMSOn(t testing.TB, bin, dir, seedPath string, port int) (string, error) {
	data := filepath.Join(dir, "data")
	if err := os.RemoveAll(data); err != nil {
		return "", err
	}
	env := append(os.Environ(), fmt.Sprintf("PORT=%d", port), "KMS_SEED_PATH="+seedPath,
		"KMS_DATA_PATH="+data, "KMS_REGION=eu-west-2", "KMS_ACCOUNT_ID=111122223333")
	p, err := startProcess("local-kms", bin, dir, env)
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { _ = p.stop() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return addr, p.waitReady(context.Background(), 30*time.Second, func(ctx context.Context) error {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
}
