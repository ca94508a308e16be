package kmsplugin

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"
	"github.com/sigstore/sigstore/pkg/signature/kms/fake"
)

func TestScheme(t *testing.T) {
	for _, c := range []struct {
		argv0, scheme string
		ok            bool
	}{
		{"/usr/local/bin/sigstore-kms-awskms", "awskms", true},
		{"sigstore-kms-hashivault", "hashivault", true},
		{`C:\bin\sigstore-kms-gcpkms.exe`, "gcpkms", true},
		// A scheme no provider here serves would make kms.Get run the
		// plugin protocol again: this executable, without end.
		{"sigstore-kms-localkms", "localkms", false},
		{"signet-kms", "", false},
	} {
		scheme, ok := Scheme(strings.ReplaceAll(c.argv0, `\`, "/"))
		if scheme != c.scheme || ok != c.ok {
			t.Errorf("Scheme(%q) = %q, %v; want %q, %v", c.argv0, scheme, ok, c.scheme, c.ok)
		}
	}
}

// TestServeAnswersThroughTheProvider: one call in the protocol's framing
// reaches the provider registered for scheme://KeyResourceID, and its
// public key comes back; a provider error comes back as the response's
// error, not as an empty success.
func TestServeAnswersThroughTheProvider(t *testing.T) {
	var asked string
	kms.AddProvider("servetest://", func(_ context.Context, uri string, h crypto.Hash, _ ...signature.RPCOption) (kms.SignerVerifier, error) {
		asked = uri
		if strings.HasSuffix(uri, "/missing") {
			return nil, errorString("NotFoundException: no such key")
		}
		return fake.LoadSignerVerifier(context.Background(), h)
	})
	call := func(keyID string) common.PluginResp {
		args, _ := json.Marshal(common.PluginArgs{
			InitOptions: &common.InitOptions{ProtocolVersion: common.ProtocolVersion, KeyResourceID: keyID, HashFunc: crypto.SHA256},
			MethodArgs:  &common.MethodArgs{MethodName: common.PublicKeyMethodName, PublicKey: &common.PublicKeyArgs{PublicKeyOptions: &common.PublicKeyOptions{}}},
		})
		var out bytes.Buffer
		_ = Serve(context.Background(), "servetest", []string{"sigstore-kms-servetest", common.ProtocolVersion, string(args)}, strings.NewReader(""), &out)
		var resp common.PluginResp
		if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
			t.Fatalf("response is not JSON (%v): %q", err, out.String())
		}
		return resp
	}
	resp := call("/keys/release")
	if asked != "servetest:///keys/release" || resp.PublicKey == nil || !bytes.Contains(resp.PublicKey.PublicKeyPEM, []byte("PUBLIC KEY")) {
		t.Fatalf("provider asked for %q, response %+v", asked, resp)
	}
	if resp := call("/missing"); !strings.Contains(resp.ErrorMessage, "NotFoundException") || resp.PublicKey != nil {
		t.Fatalf("provider error not returned: %+v", resp)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
