package sign

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestNewKeyPassword: COSIGN_PASSWORD wins even when empty, and without it
// and without a terminal there is no password, never a hung prompt or an
// unencrypted key. The terminal prompt: cmd/sign TestGenerateKeyPairPassword.
func TestNewKeyPassword(t *testing.T) {
	notTTY, err := os.Create(filepath.Join(t.TempDir(), "stdin"))
	if err != nil {
		t.Fatal(err)
	}
	defer notTTY.Close()
	cases := []struct {
		name    string
		env     *string
		want    string
		wantErr error
	}{
		{"COSIGN_PASSWORD is the password", ptr("s3cret"), "s3cret", nil},
		{"an empty COSIGN_PASSWORD is a password, as in cosign", ptr(""), "", nil},
		{"no COSIGN_PASSWORD and no terminal is refused", nil, "", ErrNoPassword},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("COSIGN_PASSWORD", "")
			if c.env == nil {
				os.Unsetenv("COSIGN_PASSWORD")
			} else {
				os.Setenv("COSIGN_PASSWORD", *c.env)
			}
			got, err := NewKeyPassword(notTTY, io.Discard)
			if !errors.Is(err, c.wantErr) || string(got) != c.want {
				t.Fatalf("got %q, %v; want %q, %v", got, err, c.want, c.wantErr)
			}
		})
	}
}

func ptr(s string) *string { return &s }
