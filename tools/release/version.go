package release

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/semver"
)

// One version scheme: the release tag is vMAJOR.MINOR.PATCH; Chart.yaml's
// appVersion is that tag and its version the same without the v; the
// images are tagged with it (the shell variant with -shell appended).

// ReleaseVersion reads the version being released from Chart.yaml and
// checks that version and appVersion agree.
func ReleaseVersion(module string) (string, error) {
	b, err := os.ReadFile(filepath.Join(module, ChartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	v, app, err := ChartVersions(b)
	if err != nil {
		return "", err
	}
	if !semver.IsValid(app) || semver.Prerelease(app) != "" || semver.Build(app) != "" || semver.Canonical(app) != app {
		return "", fmt.Errorf("the chart's appVersion %q is not a release tag like v0.2.0", app)
	}
	if "v"+v != app {
		return "", fmt.Errorf("the chart's version %q and appVersion %q disagree (want version %q)", v, app, strings.TrimPrefix(app, "v"))
	}
	return app, nil
}

// CheckTag fails unless tag is the version Chart.yaml declares: a tag
// pushed without bumping the chart (or the templates' pins) is refused.
func CheckTag(module, tag string) error {
	want, err := ReleaseVersion(module)
	if err != nil {
		return err
	}
	if tag != want {
		return fmt.Errorf("tag %s does not match Chart.yaml appVersion %s: bump the version everywhere first", tag, want)
	}
	return nil
}

// SnapshotVersion is the version of a build that is not a release: the
// upcoming release with -snapshot.<commit> (a valid SemVer prerelease and
// image tag).
func SnapshotVersion(module, commit string) (string, error) {
	v, err := ReleaseVersion(module)
	if err != nil {
		return "", err
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown"
	}
	return v + "-snapshot." + commit, nil
}
