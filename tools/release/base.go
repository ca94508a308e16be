package release

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// The nonroot user every image runs as (distroless's uid and gid).
const (
	NonrootUID  = 65532
	NonrootHome = "/home/nonroot"
	// CABundle is where the base puts the CA certificates, and what the
	// images' SSL_CERT_FILE names.
	CABundle = "/etc/ssl/certs/ca-certificates.crt"
)

// BasePackages are the Debian packages of the base: CA certificates in
// every image, busybox (static) only in the shell variant.
var (
	BasePackages  = []string{"ca-certificates"}
	ShellPackages = []string{"busybox-static"}
)

// busyboxApplets are the commands the shell variant links to busybox: a
// POSIX shell and the utilities CI scripts (the GitLab template's jobs) use.
var busyboxApplets = []string{
	"[", "[[", "awk", "base64", "basename", "cat", "chmod", "cp", "cut", "date", "dirname", "echo", "env",
	"expr", "false", "find", "grep", "gunzip", "gzip", "head", "id", "ln", "ls", "mkdir", "mktemp", "mv",
	"printf", "pwd", "readlink", "rm", "rmdir", "sed", "sh", "sha256sum", "sleep", "sort", "tail", "tar",
	"tee", "test", "touch", "tr", "true", "uname", "uniq", "wc", "wget", "which", "whoami", "xargs",
}

// Package is a Debian package the base contains, as SBOMs and the release
// notes name it.
type Package struct {
	Name, Version, Architecture, SHA256 string
}

// baseTree assembles the root filesystem of the base from the packages:
// the CA bundle (the certificates ca-certificates ships, concatenated in
// path order, as update-ca-certificates would), busybox and its applet links
// when shell is set, each package's copyright file and dpkg status entry (so
// scanners know what is inside), and /etc/passwd, /etc/group with root and
// nonroot. Nothing runs: no maintainer scripts, no package manager.
func baseTree(debs []*Deb, shell bool) (tree, []Package, error) {
	t := tree{}
	var pkgs []Package
	want := map[string]bool{}
	for _, p := range BasePackages {
		want[p] = true
	}
	if shell {
		for _, p := range ShellPackages {
			want[p] = true
		}
	}
	found := map[string]bool{}
	for _, d := range debs {
		if !want[d.Package] {
			continue
		}
		found[d.Package] = true
		pkgs = append(pkgs, Package{Name: d.Package, Version: d.Version, Architecture: d.Architecture, SHA256: d.SHA256})
		t.add(file("/var/lib/dpkg/status.d/"+d.Package, 0o644, statusEntry(d.Control)))
		var err error
		switch d.Package {
		case "ca-certificates":
			err = addCABundle(t, d)
		case "busybox-static":
			err = addBusybox(t, d)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", d.Package, d.Version, err)
		}
	}
	for p := range want {
		if !found[p] {
			return nil, nil, fmt.Errorf("base: package %s missing", p)
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	loginShell := "/sbin/nologin"
	if shell {
		loginShell = "/bin/sh"
	}
	t.add(
		file("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"+
			fmt.Sprintf("nonroot:x:%d:%d:nonroot:%s:%s\n", NonrootUID, NonrootUID, NonrootHome, loginShell))),
		file("/etc/group", 0o644, []byte(fmt.Sprintf("root:x:0:\nnobody:x:65534:\nnonroot:x:%d:\n", NonrootUID))),
		file("/etc/nsswitch.conf", 0o644, []byte("hosts: files dns\n")),
		file("/etc/os-release", 0o644, []byte("PRETTY_NAME=\"signet base (Debian GNU/Linux 12 packages)\"\nNAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nHOME_URL=\"https://github.com/signet-dev/signet\"\n")),
		dir("/root", 0o700),
		entry{Name: NonrootHome, Mode: 0o755, Type: tar.TypeDir, UID: NonrootUID, GID: NonrootUID},
		dir("/tmp", 0o1777),
	)
	return t, pkgs, nil
}

// statusEntry is the control file as a dpkg status stanza.
func statusEntry(control []byte) []byte {
	c := bytes.TrimRight(control, "\n")
	return append(append([]byte(nil), c...), []byte("\nStatus: install ok installed\n")...)
}

func addCABundle(t tree, d *Deb) error {
	var certs []string
	bodies := map[string][]byte{}
	err := addFiles(t, d, func(name string) bool {
		return strings.HasPrefix(name, "/usr/share/ca-certificates/") && strings.HasSuffix(name, ".crt")
	}, func(name string, b []byte) {
		certs = append(certs, name)
		bodies[name] = b
	})
	if err != nil {
		return err
	}
	if len(certs) == 0 {
		return fmt.Errorf("no certificates under /usr/share/ca-certificates")
	}
	sort.Strings(certs)
	var bundle bytes.Buffer
	for _, c := range certs {
		bundle.Write(bytes.TrimRight(bodies[c], "\n"))
		bundle.WriteByte('\n')
	}
	t.add(file(CABundle, 0o644, bundle.Bytes()))
	return nil
}

func addBusybox(t tree, d *Deb) error {
	var have bool
	err := addFiles(t, d, func(name string) bool { return name == "/bin/busybox" }, func(name string, b []byte) {
		t.add(file(name, 0o755, b))
		have = true
	})
	if err != nil {
		return err
	}
	if !have {
		return fmt.Errorf("no /bin/busybox in the package")
	}
	for _, a := range busyboxApplets {
		t.add(symlink("/bin/"+a, "busybox"))
	}
	return nil
}

// addFiles reads d's regular files: its copyright file goes into t as it
// is, and each other file whose absolute path want accepts goes to fn with
// its content.
func addFiles(t tree, d *Deb, want func(name string) bool, fn func(name string, body []byte)) error {
	copyright := "/usr/share/doc/" + d.Package + "/copyright"
	return d.Walk(func(h *tar.Header, r io.Reader) error {
		name := path.Clean("/" + h.Name)
		if h.Typeflag != tar.TypeReg || name != copyright && !want(name) {
			return nil
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if name == copyright {
			t.add(file(name, 0o644, b))
		} else {
			fn(name, b)
		}
		return nil
	})
}
