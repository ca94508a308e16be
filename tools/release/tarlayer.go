package release

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is one file, directory or symlink of a layer.
type entry struct {
	Name     string // absolute path in the image, e.g. /etc/passwd
	Mode     int64  // permission bits (and sticky)
	UID, GID int
	Type     byte // tar.TypeReg, TypeDir or TypeSymlink
	Link     string
	Data     []byte
}

func file(name string, mode int64, data []byte) entry {
	return entry{Name: name, Mode: mode, Type: tar.TypeReg, Data: data}
}
func dir(name string, mode int64) entry { return entry{Name: name, Mode: mode, Type: tar.TypeDir} }
func symlink(name, target string) entry {
	return entry{Name: name, Mode: 0o777, Type: tar.TypeSymlink, Link: target}
}

// tree is a set of entries by path; adding a path again replaces it.
type tree map[string]entry

func (t tree) add(es ...entry) {
	for _, e := range es {
		e.Name = path.Clean("/" + e.Name)
		t[e.Name] = e
	}
}

// withParents adds the missing parent directories (0755, root).
func (t tree) withParents() {
	for name := range t {
		for d := path.Dir(name); d != "/"; d = path.Dir(d) {
			if _, ok := t[d]; !ok {
				t[d] = dir(d, 0o755)
			}
		}
	}
}

// tarBytes writes the tree as a tar in path order, every header with the
// same mtime and no user or group names: the same tree gives the same bytes.
func (t tree) tarBytes(epoch time.Time) ([]byte, error) {
	t.withParents()
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := t[n]
		h := &tar.Header{
			Name: n[1:], Mode: e.Mode, Uid: e.UID, Gid: e.GID, Typeflag: e.Type, Linkname: e.Link,
			ModTime: epoch, Format: tar.FormatPAX,
		}
		if e.Type == tar.TypeDir {
			h.Name += "/"
		}
		if e.Type == tar.TypeReg {
			h.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", n, err)
		}
		if e.Type == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// layer turns the tree into an OCI layer (gzip, computed once).
func (t tree) layer(epoch time.Time) (v1.Layer, error) {
	b, err := t.tarBytes(epoch)
	if err != nil {
		return nil, err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithCompressedCaching, tarball.WithMediaType("application/vnd.oci.image.layer.v1.tar+gzip"))
	return plainLayer{l}, err
}

// plainLayer hides the tarball layer's own Descriptor, whose empty (not
// nil) annotations map would make the manifest differ from its own JSON.
type plainLayer struct{ v1.Layer }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
