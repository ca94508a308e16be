package sign

import (
	"context"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/internal/testworld"
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
	kp, err := LoadKeyFile(path, []byte("s3cret"))
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	pem, _ := kp.GetPublicKeyPem()
	if pem != string(pub) {
		t.Fatalf("public key of decrypted key differs from cosign.pub:\n%s\n%s", pem, pub)
	}
	_, err = LoadKeyFile(path, []byte("wrong"))
	if !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: got %v, want ErrWrongPassword", err)
	}
	// A public key given as the private key is not a password problem.
	pubPath := filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err = LoadKeyFile(pubPath, []byte("s3cret")); err == nil || errors.Is(err, ErrWrongPassword) {
		t.Fatalf("public key as private key: got %v, want an error that is not ErrWrongPassword", err)
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
