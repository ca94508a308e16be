package citest

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// stage is one FROM ... AS name section of a Dockerfile.
type stage struct {
	from, user, entrypoint string
}

func dockerfileStages(t *testing.T, data []byte) map[string]stage {
	t.Helper()
	stages := map[string]stage{}
	var cur string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			if len(f) < 4 || !strings.EqualFold(f[len(f)-2], "AS") {
				t.Fatalf("unnamed stage: %s", sc.Text())
			}
			cur = f[len(f)-1]
			stages[cur] = stage{from: f[len(f)-3]}
		case "USER":
			s := stages[cur]
			s.user = f[1]
			stages[cur] = s
		case "ENTRYPOINT":
			s := stages[cur]
			s.entrypoint = strings.Join(f[1:], " ")
			stages[cur] = s
		}
	}
	return stages
}

// TestDockerfileTargets: the images the Helm chart and the GitLab template
// pull have the binary as entrypoint, run as 65532 and sit on distroless.
// (No container engine here: the Dockerfile is checked, not built.)
func TestDockerfileTargets(t *testing.T) {
	stages := dockerfileStages(t, readRepoFile(t, "build/Dockerfile"))
	cases := []struct{ target, base, entrypoint string }{
		{"enforce", "gcr.io/distroless/static:nonroot", `["/enforce"]`},
		{"sign", "gcr.io/distroless/static:nonroot", `["/usr/local/bin/sign"]`},
		{"sign-debug", "gcr.io/distroless/static:debug-nonroot", `["/usr/local/bin/sign"]`},
	}
	for _, c := range cases {
		s, ok := stages[c.target]
		if !ok {
			t.Errorf("no target %q", c.target)
			continue
		}
		if s.from != c.base || s.user != "65532:65532" || s.entrypoint != c.entrypoint {
			t.Errorf("target %s: got from=%s user=%s entrypoint=%s; want %s, 65532:65532, %s",
				c.target, s.from, s.user, s.entrypoint, c.base, c.entrypoint)
		}
	}
	if b := stages["builder"].from; !strings.HasPrefix(b, "golang:") {
		t.Errorf("builder stage: want golang base, got %q", b)
	}
}
