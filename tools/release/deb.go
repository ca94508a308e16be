package release

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Deb is a Debian binary package read from its .deb file: an ar archive of
// debian-binary, control.tar.* and data.tar.*.
type Deb struct {
	Package, Version, Architecture string
	// Control is the package's control file, verbatim (it becomes the
	// image's dpkg status entry, so scanners see the package).
	Control []byte
	// SHA256 of the .deb file itself.
	SHA256 string
	data   []byte // data.tar.*, still compressed
	dataFn string
}

// ReadDeb parses a .deb file's content.
func ReadDeb(b []byte) (*Deb, error) {
	members, err := readAr(b)
	if err != nil {
		return nil, err
	}
	d := &Deb{SHA256: sha256Hex(b)}
	for name, body := range members {
		switch {
		case strings.HasPrefix(name, "control.tar"):
			if d.Control, err = tarFile(name, body, "control"); err != nil {
				return nil, fmt.Errorf("control: %w", err)
			}
		case strings.HasPrefix(name, "data.tar"):
			d.data, d.dataFn = body, name
		}
	}
	if d.Control == nil || d.data == nil {
		return nil, errors.New("not a Debian package: control.tar or data.tar missing")
	}
	fields := parseControl(d.Control)
	d.Package, d.Version, d.Architecture = fields["Package"], fields["Version"], fields["Architecture"]
	if d.Package == "" || d.Version == "" || d.Architecture == "" {
		return nil, errors.New("control file lacks Package, Version or Architecture")
	}
	return d, nil
}

// Walk calls fn for every entry of the package's data.tar, in archive order.
func (d *Deb) Walk(fn func(h *tar.Header, r io.Reader) error) error {
	r, err := decompress(d.dataFn, d.data)
	if err != nil {
		return fmt.Errorf("%s %s: %w", d.Package, d.dataFn, err)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", d.Package, d.dataFn, err)
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
}

// readAr splits a Unix ar archive (the .deb container) into its members.
func readAr(b []byte) (map[string][]byte, error) {
	const magic = "!<arch>\n"
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, errors.New("not an ar archive")
	}
	out := map[string][]byte{}
	for off := len(magic); off < len(b); {
		if off+60 > len(b) {
			return nil, errors.New("truncated ar header")
		}
		h := b[off : off+60]
		name := strings.TrimSuffix(strings.TrimSpace(string(h[0:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(h[48:58])))
		if err != nil || size < 0 || off+60+size > len(b) {
			return nil, fmt.Errorf("ar member %q: bad size", name)
		}
		out[name] = b[off+60 : off+60+size]
		off += 60 + size + size%2
	}
	return out, nil
}

func decompress(name string, b []byte) (io.Reader, error) {
	switch {
	case strings.HasSuffix(name, ".xz"):
		return xz.NewReader(bytes.NewReader(b))
	case strings.HasSuffix(name, ".gz"):
		return gzip.NewReader(bytes.NewReader(b))
	case strings.HasSuffix(name, ".zst"):
		d, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case strings.HasSuffix(name, ".tar"):
		return bytes.NewReader(b), nil
	}
	return nil, fmt.Errorf("unsupported compression of %s", name)
}

// tarFile returns the content of the file named want (any ./ prefix) in a
// compressed tar.
func tarFile(name string, b []byte, want string) ([]byte, error) {
	r, err := decompress(name, b)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("%s not found: %w", want, err)
		}
		if strings.TrimPrefix(h.Name, "./") == want {
			return io.ReadAll(tr)
		}
	}
}

// parseControl reads the fields of a control file (continuation lines are
// folded into their field).
func parseControl(b []byte) map[string]string {
	fields := map[string]string{}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if last != "" {
				fields[last] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			last = k
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}
