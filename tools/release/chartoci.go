package release

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"sigs.k8s.io/yaml"
)

// The media types `helm push` writes and `helm pull`/`helm install
// oci://` require.
const (
	ChartConfigMediaType types.MediaType = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType  types.MediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// ChartRepository is where a release's chart goes under the registry
// prefix (helm's convention: `helm push chart.tgz oci://<prefix>/charts`),
// tagged with the chart's version: oci://<prefix>/charts/signet-enforce.
const ChartRepository = "charts/signet-enforce"

// OCIChart is the chart archive as the OCI artifact `helm push` makes: an
// OCI image manifest whose config is the chart's metadata (Chart.yaml as
// JSON) and whose one layer is the .tgz. Built from the archive and the
// release epoch only, it has the same digest on every build of a commit,
// so the release notes can print it and the signing jobs sign it like
// the images.
type OCIChart struct {
	config, layer v1.Layer
	manifest      []byte
	Digest        v1.Hash
}

// NewOCIChart wraps a packaged chart (PackageChart's .tgz) and its
// Chart.yaml.
func NewOCIChart(tgz, chartYAML []byte, epoch time.Time) (*OCIChart, error) {
	meta, err := yaml.YAMLToJSON(chartYAML)
	if err != nil {
		return nil, fmt.Errorf("parsing Chart.yaml: %w", err)
	}
	var fields struct {
		Name        string   `json:"name"`
		Version     string   `json:"version"`
		Description string   `json:"description"`
		Home        string   `json:"home"`
		Sources     []string `json:"sources"`
	}
	if err := json.Unmarshal(meta, &fields); err != nil {
		return nil, err
	}
	c := &OCIChart{config: static.NewLayer(meta, ChartConfigMediaType), layer: static.NewLayer(tgz, ChartLayerMediaType)}
	desc := func(l v1.Layer) (v1.Descriptor, error) {
		d, err := l.Digest()
		if err != nil {
			return v1.Descriptor{}, err
		}
		size, err := l.Size()
		mt, _ := l.MediaType()
		return v1.Descriptor{MediaType: mt, Size: size, Digest: d}, err
	}
	cfg, err := desc(c.config)
	if err != nil {
		return nil, err
	}
	layer, err := desc(c.layer)
	if err != nil {
		return nil, err
	}
	// The annotations helm push adds, with the release's time, not now.
	ann := map[string]string{
		"org.opencontainers.image.title": fields.Name, "org.opencontainers.image.version": fields.Version,
		"org.opencontainers.image.description": fields.Description, "org.opencontainers.image.url": fields.Home,
		"org.opencontainers.image.created": epoch.UTC().Format(time.RFC3339),
	}
	if len(fields.Sources) > 0 {
		ann["org.opencontainers.image.source"] = fields.Sources[0]
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg, Layers: []v1.Descriptor{layer}, Annotations: ann}
	if c.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	c.Digest, _, err = v1.SHA256(bytes.NewReader(c.manifest))
	return c, err
}

// RawManifest and MediaType make an OCIChart a remote.Taggable.
func (c *OCIChart) RawManifest() ([]byte, error)        { return c.manifest, nil }
func (c *OCIChart) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// Push uploads the config and the archive, then the manifest under ref
// (<prefix>/charts/signet-enforce:<chart version>).
func (c *OCIChart) Push(ctx context.Context, ref string, opts ...remote.Option) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	for _, l := range []v1.Layer{c.config, c.layer} {
		if err := remote.WriteLayer(r.Context(), l, opts...); err != nil {
			return fmt.Errorf("pushing the chart to %s: %w", ref, err)
		}
	}
	if err := remote.Put(r, c, opts...); err != nil {
		return fmt.Errorf("pushing the chart to %s: %w", ref, err)
	}
	return nil
}
