package sign

import (
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

// TestPublicKeySpec: cosign verify's --key becomes the key identity that
// names the same key, and an env:// key that is not there is an error,
// never an empty key.
func TestPublicKeySpec(t *testing.T) {
	t.Setenv("SIGNET_TEST_PUB", "-----BEGIN PUBLIC KEY-----\nMFk=\n-----END PUBLIC KEY-----\n")
	cases := []struct {
		name, ref string
		want      policy.KeySpec
		wantErr   string
	}{
		{"a KMS URI is a KMS key", "awskms:///alias/release", policy.KeySpec{KMS: "awskms:///alias/release"}, ""},
		{"env://VAR is the PEM it holds", "env://SIGNET_TEST_PUB", policy.KeySpec{PublicKey: "-----BEGIN PUBLIC KEY-----\nMFk=\n-----END PUBLIC KEY-----\n"}, ""},
		{"an unset env://VAR is an error", "env://SIGNET_TEST_UNSET", policy.KeySpec{}, "not set"},
		{"anything else is a file", "cosign.pub", policy.KeySpec{Path: "cosign.pub"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PublicKeySpec(c.ref)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || *got != c.want {
				t.Fatalf("got %+v %v, want %+v", got, err, c.want)
			}
		})
	}
}
