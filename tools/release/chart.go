package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// ChartDir is the enforce chart in the repository.
const ChartDir = "deploy/charts/signet-enforce"

var (
	chartVersionRe    = regexp.MustCompile(`(?m)^version: (\S+)$`)
	chartAppVersionRe = regexp.MustCompile(`(?m)^appVersion: "?([^"\s]+)"?$`)
)

// ChartVersions reads version and appVersion from Chart.yaml.
func ChartVersions(chartYAML []byte) (version, appVersion string, err error) {
	v, a := chartVersionRe.FindSubmatch(chartYAML), chartAppVersionRe.FindSubmatch(chartYAML)
	if v == nil || a == nil {
		return "", "", errors.New("the chart's Chart.yaml has no version or no appVersion")
	}
	return string(v[1]), string(a[1]), nil
}

// PackageChart writes the chart as <name>-<chart version>.tgz into dist,
// with values.yaml pinning the enforce image to repository@digest: a helm
// install of the release runs exactly the image that was built and signed.
// The archive is reproducible (sorted entries, fixed mtime).
func PackageChart(module, dist, repository, tag, digest string, epoch time.Time) (string, error) {
	root := filepath.Join(module, ChartDir)
	chartYAML, err := os.ReadFile(filepath.Join(root, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	version, _, err := ChartVersions(chartYAML)
	if err != nil {
		return "", err
	}
	files := map[string][]byte{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		return "", err
	}
	if files["values.yaml"], err = pinImage(files["values.yaml"], repository, tag, digest); err != nil {
		return "", err
	}
	name := filepath.Base(root)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		h := &tar.Header{Name: name + "/" + n, Mode: 0o644, Size: int64(len(files[n])), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return "", err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	file := fmt.Sprintf("%s-%s.tgz", name, version)
	return file, os.WriteFile(filepath.Join(dist, file), tgz.Bytes(), 0o644)
}

var (
	valuesRepositoryRe = regexp.MustCompile(`(?m)^  repository: .*$`)
	valuesDigestRe     = regexp.MustCompile(`(?m)^  digest: .*$`)
	valuesTagRe        = regexp.MustCompile(`(?m)^  tag: .*$`)
)

// pinImage sets image.repository and image.digest in values.yaml, failing
// when either is not there exactly once (the chart's layout changed).
func pinImage(values []byte, repository, tag, digest string) ([]byte, error) {
	for _, re := range []*regexp.Regexp{valuesRepositoryRe, valuesDigestRe, valuesTagRe} {
		if n := len(re.FindAll(values, -1)); n != 1 {
			return nil, fmt.Errorf("values.yaml: want exactly one line matching %s under image:, found %d", re, n)
		}
	}
	if !strings.HasPrefix(digest, "sha256:") {
		return nil, fmt.Errorf("chart: image digest %q is not a sha256 digest", digest)
	}
	values = valuesRepositoryRe.ReplaceAll(values, []byte("  repository: "+repository))
	values = valuesTagRe.ReplaceAll(values, []byte(`  tag: "`+tag+`"`))
	return valuesDigestRe.ReplaceAll(values, []byte(`  digest: "`+digest+`"`)), nil
}
