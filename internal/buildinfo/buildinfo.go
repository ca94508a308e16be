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
// else "devel" (a build from a checkout). The commit comes from the stamp or
// from the VCS information Go embeds when it builds inside a repository.
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
	return info
}

// Write prints the Info the way `sign version` and `enforce version` show it.
func (i Info) Write(w io.Writer, name string) error {
	_, err := fmt.Fprintf(w, "%s %s\n", name, i.Version)
	if err == nil && i.Commit != "" {
		_, err = fmt.Fprintf(w, "commit   %s\n", i.Commit)
	}
	if err == nil {
		_, err = fmt.Fprintf(w, "go       %s\nplatform %s\n", i.GoVersion, i.Platform)
	}
	return err
}
