// Package buildinfo answers "which signet is this?" for both binaries: the
// version stamped by the release build, or, for a `go install ...@v0.2.0`
// build, the module version Go records in the binary, so a user's report
// names a real release instead of "dev".
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"golang.org/x/mod/module"
)

// Set by the release build: -ldflags "-X github.com/signet-dev/signet/internal/buildinfo.version=v0.2.0
// -X github.com/signet-dev/signet/internal/buildinfo.commit=<sha>".
var (
	version string
	commit  string
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Read returns the running binary's Info.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return from(version, commit, bi)
}

// Version is Read().Version.
func Version() string { return Read().Version }

// from resolves the version: a stamped version wins (release builds); else
// the main module's version from the build info (go install pkg@version);
// else "devel" (a build from a checkout). The commit comes from the stamp,
// from the VCS information Go embeds when it builds inside a repository
// (not a git worktree: Go looks for a .git directory), or from a
// pseudo-version (go install pkg@<commit> or @main), which ends in it.
func from(stampedVersion, stampedCommit string, bi *debug.BuildInfo) Info {
	info := Info{Version: stampedVersion, Commit: stampedCommit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		if info.Version == "" {
			info.Version = "devel"
		}
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	if info.Version == "" {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			info.Version = v
		} else {
			info.Version = "devel"
		}
	}
	if info.Commit == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Commit = s.Value
			}
		}
	}
	if info.Commit == "" && module.IsPseudoVersion(info.Version) {
		info.Commit, _ = module.PseudoVersionRev(info.Version)
	}
	return info
}

// unknownCommit says why a binary cannot name its commit, and where to look.
func (i Info) unknownCommit() string {
	if i.Version == "devel" {
		return "unknown (built without VCS information: outside a git clone, in a git worktree, or with -buildvcs=false)"
	}
	return "unknown (go install records no commit for a tagged version: the tag " + i.Version + " names it)"
}

// Write prints the Info the way `sign version` and `enforce version` show it.
func (i Info) Write(w io.Writer, name string) error {
	commit := i.Commit
	if commit == "" {
		commit = i.unknownCommit()
	}
	_, err := fmt.Fprintf(w, "%s %s\ncommit   %s\n", name, i.Version, commit)
	if err == nil {
		_, err = fmt.Fprintf(w, "go       %s\nplatform %s\n", i.GoVersion, i.Platform)
	}
	return err
}
