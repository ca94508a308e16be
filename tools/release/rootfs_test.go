package release

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// unpack writes the image's flattened filesystem under dir, refusing any
// entry that would land outside it.
func unpack(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		if !strings.HasPrefix(p, dir+string(os.PathSeparator)) && p != dir {
			t.Fatalf("entry %q escapes the rootfs", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, os.FileMode(h.Mode)&os.ModePerm); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, os.FileMode(h.Mode)&os.ModePerm|modeSticky(h.Mode))
			os.Lchown(p, h.Uid, h.Gid)
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, os.FileMode(h.Mode)&os.ModePerm); err != nil {
				t.Fatal(err)
			}
			os.Lchown(p, h.Uid, h.Gid)
		case tar.TypeSymlink:
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(h.Linkname, p); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func modeSticky(m int64) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// runInImage runs the image's entrypoint (plus args) the way a container
// runtime would, without one: chrooted into the unpacked rootfs, as the
// config's user, with its environment and working directory. It needs root
// (chroot, setuid), which CI has.
func runInImage(t *testing.T, img v1.Image, rootfs string, entrypoint []string, args ...string) (string, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("running an image's entrypoint in its rootfs needs root (chroot), as CI has")
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if entrypoint == nil {
		entrypoint = cf.Config.Entrypoint
	}
	var uid, gid uint32
	if _, err := fmtSscanUser(cf.Config.User, &uid, &gid); err != nil {
		t.Fatalf("config user %q: %v", cf.Config.User, err)
	}
	argv := append(append([]string{}, entrypoint...), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Path = argv[0] // resolved inside the chroot
	cmd.Env = cf.Config.Env
	cmd.Dir = cf.Config.WorkingDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs, Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}
