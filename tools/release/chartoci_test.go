package release

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
)

// TestOCIChartIsWhatHelmPulls: the chart artifact a release pushes is one
// helm's own registry client pulls (`helm install oci://`), giving back the
// packaged archive with its pinned image, and building it twice from the
// same archive and epoch gives the same digest (the notes print it before
// anything is pushed).
func TestOCIChartIsWhatHelmPulls(t *testing.T) {
	dist := t.TempDir()
	digest := "sha256:" + strings.Repeat("cd", 32)
	file, err := PackageChart(moduleRoot(t), dist, "registry.example/signet/signet-enforce", "v0.2.0", digest, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	tgz, err := os.ReadFile(filepath.Join(dist, file))
	if err != nil {
		t.Fatal(err)
	}
	chartYAML, err := os.ReadFile(filepath.Join(moduleRoot(t), ChartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	art, err := NewOCIChart(tgz, chartYAML, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := NewOCIChart(tgz, chartYAML, time.Unix(1700000000, 0))
	if again.Digest != art.Digest {
		t.Errorf("two builds of one archive: %s and %s", art.Digest, again.Digest)
	}
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	if err := art.Push(t.Context(), host+"/signet-dev/"+ChartRepository+":0.2.0"); err != nil {
		t.Fatal(err)
	}
	client, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Pull(host + "/signet-dev/" + ChartRepository + ":0.2.0")
	if err != nil {
		t.Fatalf("helm pull: %v", err)
	}
	if res.Manifest.Digest != art.Digest.String() {
		t.Errorf("helm pulled manifest %s, the release recorded %s", res.Manifest.Digest, art.Digest)
	}
	if !bytes.Equal(res.Chart.Data, tgz) || res.Chart.Meta.Name != "signet-enforce" || res.Chart.Meta.Version != "0.2.0" {
		t.Fatalf("helm pulled chart %s %s (%d bytes), want the packaged archive", res.Chart.Meta.Name, res.Chart.Meta.Version, len(res.Chart.Data))
	}
	ch, err := loader.LoadArchive(bytes.NewReader(res.Chart.Data))
	if err != nil {
		t.Fatal(err)
	}
	if img := ch.Values["image"].(map[string]any); img["digest"] != digest {
		t.Errorf("the pulled chart runs image %v, want digest %s", img, digest)
	}
}
