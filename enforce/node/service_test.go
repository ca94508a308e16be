package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewReadsTheRegistriesFile: signet-node reads the webhook's registries
// file (the chart mounts the same one), so a container without a verdict
// is verified where the webhook would read it; a file enforce would refuse
// is refused here too, naming it.
func TestNewReadsTheRegistriesFile(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "trust.yaml")
	os.WriteFile(policy, []byte("apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages:\n- {name: rest, match: ['**'], deny: no}\n"), 0o644)
	regs := filepath.Join(dir, "registries.yaml")
	os.WriteFile(regs, []byte("registries: [{host: 'localhost:32000', mirror: 'http://10.152.183.20:5000'}]"), 0o644)
	_, err := New(Config{PolicyPath: policy, RegistriesPath: regs, Offline: true})
	if err == nil || !strings.Contains(err.Error(), regs) || !strings.Contains(err.Error(), "set plainHTTP: true") {
		t.Fatalf("a registries file enforce refuses: %v", err)
	}
	os.WriteFile(regs, []byte("registries: [{host: 'localhost:32000', mirror: 'http://10.152.183.20:5000', plainHTTP: true}]"), 0o644)
	if _, err := New(Config{PolicyPath: policy, RegistriesPath: regs, Offline: true}); err != nil {
		t.Fatalf("a valid registries file: %v", err)
	}
}
