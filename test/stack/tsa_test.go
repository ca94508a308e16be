package stack_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"io"
	"net/http"
	"testing"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/test/stack"
)

// A timestamp from our TSA must verify against the chain in the generated trusted
// root, or signatures timestamped by it could never verify.
func TestTSATimestampVerifiesAgainstTrustedRoot(t *testing.T) {
	s := sharedStack(t)
	sig := []byte("signature bytes to be timestamped")
	digest := sha256.Sum256(sig)
	req, err := timestamp.CreateRequest(bytes.NewReader(sig), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.TSA.TimestampURL(), "application/timestamp-query", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("timestamp request: %s: %s", resp.Status, body)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ts.HashedMessage, digest[:]) {
		t.Fatalf("timestamp covers %x, want %x", ts.HashedMessage, digest)
	}
	tr, err := root.NewTrustedRootFromPath(s.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	tsas := tr.TimestampingAuthorities()
	if len(tsas) != 1 {
		t.Fatalf("trusted root has %d TSAs, want 1", len(tsas))
	}
	got, err := tsas[0].Verify(body, sig)
	if err != nil {
		t.Fatalf("verifying timestamp against trusted root: %v", err)
	}
	t.Logf("timestamp %s from %s", got.Time, got.URI)
	if _, err := tsas[0].Verify(body, []byte("other bytes")); err == nil {
		t.Fatal("timestamp verified for different signature bytes")
	}
}

// Two stacks run a TSA each at the same time: the TSA is built to bind its
// metrics server to a free loopback port (ToolTSA), where the release's
// fixed :2112 would make the second exit. Test packages and parallel tests
// then never wait for one another's TSA.
func TestTwoTSAsRunSideBySide(t *testing.T) {
	a := stack.New(t, stack.Options{TSA: true})
	b := stack.New(t, stack.Options{TSA: true})
	for _, s := range []*stack.Stack{a, b} {
		resp, err := http.Get(s.TSA.URL + "/api/v1/timestamp/certchain")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", s.TSA.URL, resp.Status)
		}
	}
}
