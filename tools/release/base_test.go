package release

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// testDebs are small stand-ins for the base's packages, per architecture.
func testDebs(t *testing.T) map[string][]*Deb {
	t.Helper()
	out := map[string][]*Deb{}
	for _, arch := range []string{"amd64", "arm64"} {
		ca := makeDeb(t, "Package: ca-certificates\nVersion: 20250419~deb12u2\nArchitecture: all\n",
			map[string]string{
				"./usr/share/ca-certificates/mozilla/B_Root.crt": "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n",
				"./usr/share/ca-certificates/mozilla/A_Root.crt": "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n",
				"./usr/share/doc/ca-certificates/copyright":      "MPL-2.0\n",
				"./usr/sbin/update-ca-certificates":              "#!/bin/sh\n",
			},
			[]string{"./usr/share/ca-certificates/mozilla/B_Root.crt", "./usr/share/ca-certificates/mozilla/A_Root.crt",
				"./usr/share/doc/ca-certificates/copyright", "./usr/sbin/update-ca-certificates"})
		bb := makeDeb(t, "Package: busybox-static\nVersion: 1:1.35.0-4+deb12u1+b1\nArchitecture: "+arch+"\n",
			map[string]string{"./bin/busybox": "ELF " + arch, "./usr/share/doc/busybox-static/copyright": "GPL-2\n"},
			[]string{"./bin/busybox", "./usr/share/doc/busybox-static/copyright"})
		for _, b := range [][]byte{ca, bb} {
			d, err := ReadDeb(b)
			if err != nil {
				t.Fatal(err)
			}
			out[arch] = append(out[arch], d)
		}
	}
	return out
}

func readTar(t *testing.T, b []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out["/"+strings.TrimSuffix(h.Name, "/")] = h
	}
}

func TestBaseTree(t *testing.T) {
	debs := testDebs(t)["amd64"]
	epoch := time.Unix(1700000000, 0).UTC()
	for _, shell := range []bool{false, true} {
		tr, pkgs, err := baseTree(debs, shell)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr[CABundle].Data; string(got) != "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n" {
			t.Errorf("CA bundle is not the certificates in path order:\n%s", got)
		}
		if _, ok := tr["/usr/sbin/update-ca-certificates"]; ok {
			t.Error("the base carries package scripts it never runs")
		}
		passwd := string(tr["/etc/passwd"].Data)
		if !strings.Contains(passwd, "nonroot:x:65532:65532:nonroot:/home/nonroot:") {
			t.Errorf("/etc/passwd lacks nonroot 65532:\n%s", passwd)
		}
		if h := tr[NonrootHome]; h.UID != NonrootUID || h.GID != NonrootUID || h.Type != tar.TypeDir {
			t.Errorf("%s: %+v, want a directory owned by 65532", NonrootHome, h)
		}
		if tr["/tmp"].Mode != 0o1777 {
			t.Errorf("/tmp mode %o, want 1777", tr["/tmp"].Mode)
		}
		_, hasShell := tr["/bin/sh"]
		if hasShell != shell || (shell && tr["/bin/sh"].Link != "busybox") {
			t.Errorf("shell=%v: /bin/sh present=%v %+v", shell, hasShell, tr["/bin/sh"])
		}
		wantPkgs := 1
		if shell {
			wantPkgs = 2
		}
		if len(pkgs) != wantPkgs || pkgs[0].Name != "busybox-static" && shell {
			t.Errorf("shell=%v: packages %+v", shell, pkgs)
		}
		status := string(tr["/var/lib/dpkg/status.d/ca-certificates"].Data)
		if !strings.Contains(status, "Package: ca-certificates\nVersion: 20250419~deb12u2") || !strings.HasSuffix(status, "Status: install ok installed\n") {
			t.Errorf("dpkg status entry:\n%s", status)
		}
		a, err := tr.tarBytes(epoch)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := tr.tarBytes(epoch)
		if !bytes.Equal(a, b) {
			t.Error("the same tree gave different tar bytes")
		}
		for name, h := range readTar(t, a) {
			if !h.ModTime.Equal(epoch) || h.Uname != "" || h.Gname != "" {
				t.Errorf("%s: mtime %s uname %q gname %q, want the epoch and no names", name, h.ModTime, h.Uname, h.Gname)
			}
		}
	}
	if _, _, err := baseTree(debs[:1], true); err == nil || !strings.Contains(err.Error(), "busybox-static missing") {
		t.Errorf("a shell base without busybox: %v", err)
	}
}

// TestBuildImageIsReproducible: two builds from the same inputs give the
// same index digest; a different SOURCE_DATE_EPOCH gives another. The index
// is valid OCI and carries one image per platform, running as nonroot.
func TestBuildImageIsReproducible(t *testing.T) {
	dir := t.TempDir()
	bins, plugins := map[string]string{}, map[string]string{}
	for _, p := range ImagePlatforms {
		path := filepath.Join(dir, strings.ReplaceAll(p, "/", "_"))
		if err := os.WriteFile(path, []byte("binary for "+p), 0o755); err != nil {
			t.Fatal(err)
		}
		bins[p] = path
		if err := os.WriteFile(path+".kms", []byte("plugin for "+p), 0o755); err != nil {
			t.Fatal(err)
		}
		plugins[p] = path + ".kms"
	}
	in := ImageInputs{Version: "v0.2.0", Commit: "abc", Source: SourceURL, Epoch: time.Unix(1700000000, 0).UTC(), Binaries: bins, Plugins: plugins, Debs: testDebs(t)}
	digest := func(in ImageInputs) string {
		img, err := BuildImage(Images[2], in)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(img.Index); err != nil {
			t.Fatalf("invalid index: %v", err)
		}
		d, err := img.Index.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	first, second := digest(in), digest(in)
	if first != second {
		t.Fatalf("two builds differ: %s vs %s", first, second)
	}
	later := in
	later.Epoch = in.Epoch.Add(time.Second)
	if digest(later) == first {
		t.Fatal("the epoch does not reach the image: timestamps are not pinned to it")
	}
	img, _ := BuildImage(Images[2], in)
	pub, err := Describe(img, "v0.2.0", "registry.example/signet-sign:v0.2.0-shell")
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.Platforms) != 2 || pub.Platforms["linux/amd64"] == "" || pub.Platforms["linux/arm64"] == "" {
		t.Fatalf("platforms %v", pub.Platforms)
	}
	for p := range pub.Platforms {
		child, err := childImage(img.Index, p)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := child.ConfigFile()
		if cf.Config.User != "65532:65532" || cf.Architecture != strings.TrimPrefix(p, "linux/") || cf.Config.Entrypoint[0] != "/usr/local/bin/sign" {
			t.Errorf("%s: config %+v", p, cf.Config)
		}
	}
}
