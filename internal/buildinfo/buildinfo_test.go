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
