package release

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Debian is where the base image's packages come from: Debian 12's main
// archive and its security updates, verified by apt against Debian's
// archive keyring (apt-get refuses unsigned or tampered indexes).
var Debian = AptSource{
	Mirror:   "http://deb.debian.org/debian",
	Security: "http://deb.debian.org/debian-security",
	Suite:    "bookworm",
	Keyring:  "/usr/share/keyrings/debian-archive-keyring.gpg",
}

// AptSource names a Debian archive.
type AptSource struct {
	Mirror, Security, Suite, Keyring string
}

// Fetcher downloads .deb files with apt-get, with its own sources, lists and
// cache under Dir, so neither the machine's apt configuration nor its
// architecture matters (Debian's mirror serves arm64 as well as amd64).
type Fetcher struct {
	Source AptSource
	Dir    string // state and downloaded packages; reused between runs
	Log    func(format string, args ...any)
}

// Fetch returns the .deb files of pkgs for each architecture, downloading
// the current version of each (apt-get update once per call).
func (f *Fetcher) Fetch(ctx context.Context, arches []string, pkgs []string) (map[string][]*Deb, error) {
	if err := f.prepare(arches); err != nil {
		return nil, err
	}
	if !f.listsFresh() {
		if err := f.apt(ctx, "", arches[0], "update", "-q"); err != nil {
			return nil, err
		}
	}
	out := map[string][]*Deb{}
	for _, arch := range arches {
		dest := filepath.Join(f.Dir, "debs", arch)
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return nil, err
		}
		// With the target as apt's native architecture, a plain name picks
		// that architecture's build, or the "all" one (ca-certificates).
		if err := f.apt(ctx, dest, arch, append([]string{"download", "-q"}, pkgs...)...); err != nil {
			return nil, err
		}
		debs, err := ReadDebDir(dest)
		if err != nil {
			return nil, err
		}
		for _, p := range pkgs {
			d := newest(debs, p)
			if d == nil {
				return nil, fmt.Errorf("apt-get download %s:%s left no package in %s", p, arch, dest)
			}
			out[arch] = append(out[arch], d)
		}
	}
	return out, nil
}

// ReadDebDir reads every .deb file in dir.
func ReadDebDir(dir string) ([]*Deb, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.deb"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var debs []*Deb
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		d, err := ReadDeb(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		debs = append(debs, d)
	}
	return debs, nil
}

// newest is the package named name with the highest version among debs
// (older downloads stay in the cache directory).
func newest(debs []*Deb, name string) *Deb {
	var best *Deb
	for _, d := range debs {
		if d.Package == name && (best == nil || compareDebianVersions(d.Version, best.Version) > 0) {
			best = d
		}
	}
	return best
}

func (f *Fetcher) prepare(arches []string) error {
	dirs := []string{"etc/apt/sources.list.d", "etc/apt/preferences.d", "lists/partial"}
	for _, a := range arches {
		dirs = append(dirs, filepath.Join("cache", a, "archives", "partial"))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(f.Dir, d), 0o755); err != nil {
			return err
		}
	}
	if _, err := os.Stat(f.Source.Keyring); err != nil {
		return fmt.Errorf("reading the Debian archive keyring: %w (install the debian-archive-keyring package)", err)
	}
	s := f.Source
	list := fmt.Sprintf("deb [signed-by=%[1]s] %[2]s %[4]s main\ndeb [signed-by=%[1]s] %[2]s %[4]s-updates main\ndeb [signed-by=%[1]s] %[3]s %[4]s-security main\n",
		s.Keyring, s.Mirror, s.Security, s.Suite)
	return os.WriteFile(filepath.Join(f.Dir, "etc/apt/sources.list"), []byte(list), 0o644)
}

// apt runs apt-get on the private state, with arch as the native
// architecture (the lists hold amd64 and arm64; each architecture has its
// own package cache, which apt keys on the configuration).
func (f *Fetcher) apt(ctx context.Context, dir, arch string, args ...string) error {
	d := f.Dir
	opts := []string{
		"-o", "Dir::Etc::SourceList=" + filepath.Join(d, "etc/apt/sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(d, "etc/apt/sources.list.d"),
		"-o", "Dir::Etc::Preferences=" + filepath.Join(d, "etc/apt/preferences"),
		"-o", "Dir::Etc::PreferencesParts=" + filepath.Join(d, "etc/apt/preferences.d"),
		"-o", "Dir::State::Lists=" + filepath.Join(d, "lists"),
		"-o", "Dir::State::Status=/dev/null",
		"-o", "Dir::Cache=" + filepath.Join(d, "cache", arch),
		"-o", "APT::Architecture=" + arch, "-o", "APT::Architectures::=amd64", "-o", "APT::Architectures::=arm64",
		"-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root",
	}
	cmd := exec.CommandContext(ctx, "apt-get", append(opts, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	if f.Log != nil {
		f.Log("apt-get %s: ok", strings.Join(args, " "))
	}
	return nil
}

// listsFresh reports whether the package lists were refreshed within the
// last hours, so a run right after another (a test building twice) does not
// download the indexes again.
func (f *Fetcher) listsFresh() bool {
	ms, _ := filepath.Glob(filepath.Join(f.Dir, "lists", "*InRelease"))
	if len(ms) < 3 {
		return false
	}
	for _, m := range ms {
		st, err := os.Stat(m)
		if err != nil || time.Since(st.ModTime()) > 6*time.Hour {
			return false
		}
	}
	return true
}
