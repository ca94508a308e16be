package peer

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

func TestParseSubjects(t *testing.T) {
	cases := []struct {
		name    string
		pairs   []string
		want    map[string]string
		wantErr string
	}{
		{"none", nil, map[string]string{}, ""},
		{"a DN keeps its own = and commas", []string{"check-images-1=CN=release,O=Acme"}, map[string]string{"check-images-1": "CN=release,O=Acme"}, ""},
		{"a pair without = is refused", []string{"check-images-1"}, nil, `got "check-images-1"`},
		{"a pair without a name is refused", []string{"=CN=x"}, nil, `got "=CN=x"`},
		{"a pair without a DN is refused", []string{"a="}, nil, `got "a="`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseSubjects(c.pairs)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, c.want) {
				t.Fatalf("got %v %v, want %v", got, err, c.want)
			}
		})
	}
}

func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cpol.yaml")
	if err := os.WriteFile(p, []byte("kind: ClusterPolicy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := ReadFiles([]string{p})
	if err != nil || len(files) != 1 || files[0].Name != p || string(files[0].Data) != "kind: ClusterPolicy\n" {
		t.Fatalf("ReadFiles: %+v %v", files, err)
	}
	if _, err := ReadFiles([]string{p, filepath.Join(dir, "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("a missing file: %v, want an error naming it", err)
	}
}

// TestWriteRefusesATrustFileThatDoesNotLoad: an importer bug never
// reaches disk as a trust file.
func TestWriteRefusesATrustFileThatDoesNotLoad(t *testing.T) {
	dir := t.TempDir()
	res := &Result{Spec: policy.Spec{Images: []policy.RuleSpec{{Name: "r", Match: []string{"**"}, SignedBy: []string{"nobody"}}}}}
	err := res.Write(dir)
	if err == nil || !strings.Contains(err.Error(), "importer bug") {
		t.Fatalf("Write: %v, want the importer-bug error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, TrustFileName)); err == nil {
		t.Fatal("a trust file that does not load was written")
	}
}
