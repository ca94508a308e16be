package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"

	"github.com/ulikunitz/xz"
)

// tarOf builds a tar of name -> content (directories end in /).
func tarOf(t *testing.T, files map[string]string, order []string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range order {
		h := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}
		if n[len(n)-1] == '/' {
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, files[n])
	}
	tw.Close()
	return b.Bytes()
}

// makeDeb assembles a .deb the way dpkg-deb does: an ar archive with
// debian-binary, control.tar.gz and data.tar.xz.
func makeDeb(t *testing.T, control string, data map[string]string, order []string) []byte {
	t.Helper()
	var ctl bytes.Buffer
	gz := gzip.NewWriter(&ctl)
	gz.Write(tarOf(t, map[string]string{"./control": control}, []string{"./control"}))
	gz.Close()
	var dat bytes.Buffer
	xw, err := xz.NewWriter(&dat)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(tarOf(t, data, order))
	xw.Close()
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	for _, m := range []struct {
		name string
		body []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", ctl.Bytes()}, {"data.tar.xz", dat.Bytes()}} {
		fmt.Fprintf(&ar, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.body))
		ar.Write(m.body)
		if len(m.body)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	return ar.Bytes()
}

func TestReadDeb(t *testing.T) {
	control := "Package: ca-certificates\nVersion: 20250419~deb12u2\nArchitecture: all\nDescription: Common CA certificates\n longer text\n"
	deb := makeDeb(t, control, map[string]string{"./usr/": "", "./usr/share/ca-certificates/mozilla/A.crt": "A\n"},
		[]string{"./usr/", "./usr/share/ca-certificates/mozilla/A.crt"})
	d, err := ReadDeb(deb)
	if err != nil {
		t.Fatal(err)
	}
	if d.Package != "ca-certificates" || d.Version != "20250419~deb12u2" || d.Architecture != "all" || string(d.Control) != control {
		t.Fatalf("parsed %+v", d)
	}
	var names []string
	if err := d.Walk(func(h *tar.Header, r io.Reader) error { names = append(names, h.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[1] != "./usr/share/ca-certificates/mozilla/A.crt" {
		t.Fatalf("data entries %v", names)
	}
	for name, bad := range map[string][]byte{
		"not an ar archive":   []byte("PK\x03\x04"),
		"truncated member":    deb[:len(deb)-100],
		"no control or data":  []byte("!<arch>\n"),
		"truncated ar header": append([]byte("!<arch>\n"), "debian-binary"...),
	} {
		if _, err := ReadDeb(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCompareDebianVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"20250419~deb12u2", "20230311+deb12u1", 1},
		{"1:1.35.0-4+deb12u1+b1", "1:1.35.0-4+deb12u1", 1},
		{"1:1.0", "2.0", 1}, // the epoch wins
		{"1.0~rc1", "1.0", -1},
		{"1.0", "1.0", 0},
		{"1.10", "1.9", 1},
		{"1.0-2", "1.0-10", -1},
		{"1.0a", "1.0", 1},
		{"1.0+b1", "1.0a", 1}, // non-letters sort after letters
	}
	for _, c := range cases {
		if got := compareDebianVersions(c.a, c.b); sign(got) != c.want {
			t.Errorf("compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := compareDebianVersions(c.b, c.a); sign(got) != -c.want {
			t.Errorf("compare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
