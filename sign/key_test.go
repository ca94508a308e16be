package sign

import (
	"context"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/test/testworld"
)

func TestEncryptedKeyRoundTrip(t *testing.T) {
	priv, pub, err := GenerateKeyPair([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	kp, err := LoadKey(path, []byte("s3cret"))
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	pem, _ := kp.GetPublicKeyPem()
	if pem != string(pub) {
		t.Fatalf("public key of decrypted key differs from cosign.pub:\n%s\n%s", pem, pub)
	}
	_, err = LoadKey(path, []byte("wrong"))
	if !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: got %v, want ErrWrongPassword", err)
	}
	// A public key given as the private key is not a password problem.
	pubPath := filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err = LoadKey(pubPath, []byte("s3cret")); err == nil || errors.Is(err, ErrWrongPassword) {
		t.Fatalf("public key as private key: got %v, want an error that is not ErrWrongPassword", err)
	}
}

// TestKeyFromAnEnvironmentVariable: --key env://VAR reads the PEM from
// VAR, as cosign does (GitLab's COSIGN_PRIVATE_KEY, a GitHub secret in a
// step's env), and a missing or empty variable is named, never taken for
// a file.
func TestKeyFromAnEnvironmentVariable(t *testing.T) {
	priv, pub, err := GenerateKeyPair([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIGNET_TEST_PRIVATE_KEY", string(priv))
	kp, err := LoadKey("env://SIGNET_TEST_PRIVATE_KEY", []byte("s3cret"))
	if err != nil {
		t.Fatalf("env://: %v", err)
	}
	if pem, _ := kp.GetPublicKeyPem(); pem != string(pub) {
		t.Fatalf("the key from the environment is another key:\n%s\n%s", pem, pub)
	}
	t.Setenv("SIGNET_TEST_EMPTY_KEY", " \n")
	for ref, want := range map[string]string{
		"env://SIGNET_TEST_UNSET_KEY": "the environment variable SIGNET_TEST_UNSET_KEY is not set",
		"env://SIGNET_TEST_EMPTY_KEY": "the environment variable SIGNET_TEST_EMPTY_KEY is empty",
		"env://":                      "name the environment variable",
	} {
		if _, err := LoadKey(ref, []byte("s3cret")); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", ref, err, want)
		}
	}
}

// worldKey is the world's trusted release key as a Keypair.
func worldKey(t *testing.T, w *testworld.World) *Keypair {
	t.Helper()
	sv, err := signature.LoadECDSASignerVerifier(w.Key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := NewKeypair(sv, "world key")
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func TestKeySignedImageIsAllowedInEachLayout(t *testing.T) {
	for _, f := range []Format{FormatLegacy, FormatBundle, FormatBoth} {
		t.Run(string(f), func(t *testing.T) {
			w := testworld.New(t, testworld.Options{})
			w.Push("acme/app:1.0")
			p := loadPolicy(t, w)
			kp := worldKey(t, w)
			s, err := NewSession(Config{Key: kp})
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), s, Request{
				Image: w.Ref("acme/app:1.0"), Format: f, Sign: true,
				Policy: p, Signer: Signer{Key: kp}, PostCheck: NewPostCheck(),
			})
			if err != nil {
				t.Fatalf("%v\n%+v", err, res.Decision)
			}
			if !res.FromTag || len(res.Signed) != 1 || !res.Decision.Allowed {
				t.Fatalf("unexpected result %+v", res)
			}
			if got := res.Decision.Signatures[0].Identity; got != "release-key" {
				t.Fatalf("decided by %q", got)
			}
		})
	}
}
