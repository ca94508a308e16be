package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionResolution(t *testing.T) {
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/signet-dev/signet", Version: "v0.2.0"}}
	checkout := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/signet-dev/signet", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}}
	cases := []struct {
		name, stampV, stampC string
		bi                   *debug.BuildInfo
		wantV, wantC         string
	}{
		{"a release build reports its stamped version and commit", "v0.2.0", "deadbeef", checkout, "v0.2.0", "deadbeef"},
		{"go install pkg@v0.2.0 reports the module version", "", "", installed, "v0.2.0", ""},
		{"a checkout build says devel and names its commit", "", "", checkout, "devel", "abc123"},
		{"no build info at all still answers", "", "", nil, "devel", ""},
		{"go install pkg@<commit> names the commit its pseudo-version ends in", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.2.1-0.20261201120000-0123456789ab"}}, "v0.2.1-0.20261201120000-0123456789ab", "0123456789ab"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := from(c.stampV, c.stampC, c.bi)
			if got.Version != c.wantV || got.Commit != c.wantC {
				t.Fatalf("got %+v, want version %q commit %q", got, c.wantV, c.wantC)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	var b strings.Builder
	if err := (Info{Version: "v0.2.0", Commit: "abc", GoVersion: "go1.26.8", Platform: "linux/amd64"}).Write(&b, "sign"); err != nil {
		t.Fatal(err)
	}
	want := "sign v0.2.0\ncommit   abc\ngo       go1.26.8\nplatform linux/amd64\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

// TestWriteSaysWhyTheCommitIsUnknown: `sign version` always has a commit
// line; when the binary cannot know its commit, the line says why and
// where to look instead of being left out.
func TestWriteSaysWhyTheCommitIsUnknown(t *testing.T) {
	for version, want := range map[string]string{
		"v0.2.0": "commit   unknown (go install records no commit for a tagged version: the tag v0.2.0 names it)\n",
		"devel":  "commit   unknown (built without VCS information",
	} {
		var b strings.Builder
		if err := (Info{Version: version, GoVersion: "go1.26.8", Platform: "linux/amd64"}).Write(&b, "sign"); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s: got %q, want it to contain %q", version, b.String(), want)
		}
	}
}
