package e2e

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/tools/release"
)

// gitLabHost serves Git repositories the way GitLab does for CI includes:
// smart HTTP clone (git http-backend, partial clone allowed) at
// /<project>.git and raw files at /<project>/-/raw/<ref>/<path>, which is
// what gitlab-ci-local fetches `include: component:` and `include:
// project:` from. Its Host is also GitLab's CI_SERVER_FQDN for projects
// whose origin points at it.
type gitLabHost struct {
	Host string
	root string
}

func newGitLabHost(t *testing.T) *gitLabHost {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is needed")
	}
	h := &gitLabHost{root: t.TempDir()}
	backend := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + h.root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_GLOBAL=/dev/null"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if project, rest, ok := strings.Cut(r.URL.Path, "/-/raw/"); ok {
			h.raw(w, strings.TrimPrefix(project, "/"), rest)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.Host = strings.TrimPrefix(srv.URL, "http://")
	return h
}

// raw serves <ref>/<path> of a project: the file at that ref, or 404.
func (h *gitLabHost) raw(w http.ResponseWriter, project, refPath string) {
	bare := filepath.Join(h.root, project+".git")
	ref, path, _ := strings.Cut(refPath, "/")
	out, err := exec.Command("git", "--git-dir", bare, "show", ref+":"+path).Output()
	if err != nil {
		http.NotFound(w, nil)
		return
	}
	w.Write(out)
}

// publish makes the files a project at tag: a commit of them, tagged,
// served as <project>.git.
func (h *gitLabHost) publish(t *testing.T, project, tag string, files map[string][]byte) {
	t.Helper()
	work := t.TempDir()
	for name, b := range files {
		p := filepath.Join(work, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, work, "init", "-q", "-b", "main")
	git(t, work, "add", "-A")
	git(t, work, "commit", "-q", "-m", "release "+tag)
	git(t, work, "tag", tag)
	bare := filepath.Join(h.root, project+".git")
	git(t, "", "clone", "-q", "--bare", work, bare)
	git(t, bare, "config", "uploadpack.allowFilter", "true")
	git(t, bare, "config", "http.receivepack", "false")
}

// TestGitLabComponentResolves: with signet published at its release tag on
// a GitLab host, `include: component: $CI_SERVER_FQDN/signet-dev/signet/signet@<tag>`
// resolves (GitLab's rule: templates/<name>.yml of that project at that
// ref) to signet's jobs with the given inputs; a component name the project
// does not have is an error; and the same file still works as a plain
// `include: remote:`. gitlab-ci-local only lists the jobs here (nothing runs).
func TestGitLabComponentResolves(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	glci := gitlabCILocal(t)
	root := repoRoot(t)
	tag, err := release.ReleaseVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	component, err := os.ReadFile(filepath.Join(root, "templates", "signet.yml"))
	if err != nil {
		t.Fatal(err)
	}
	gl := newGitLabHost(t)
	gl.publish(t, "signet-dev/signet", tag, map[string][]byte{"templates/signet.yml": component})
	cases := []struct {
		name, include string
		wantJobs      []string
		wantErr       string
	}{
		{"component at the release tag", "  - component: $CI_SERVER_FQDN/signet-dev/signet/signet@" + tag + "\n    inputs: {image: registry.example/acme/hello, job-prefix: release}\n",
			[]string{"release-build", "release-sign"}, ""},
		{"a component the project does not have", "  - component: $CI_SERVER_FQDN/signet-dev/signet/nosuch@" + tag + "\n",
			nil, "must exist"},
		{"plain remote include of the same file", "  - remote: http://" + gl.Host + "/signet-dev/signet/-/raw/" + tag + "/templates/signet.yml\n    inputs: {image: registry.example/acme/hello}\n",
			[]string{"signet-build", "signet-sign"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			project := t.TempDir()
			os.WriteFile(filepath.Join(project, ".gitlab-ci.yml"), []byte("include:\n"+c.include), 0o644)
			git(t, project, "init", "-q", "-b", "main")
			git(t, project, "remote", "add", "origin", "http://"+gl.Host+"/acme/hello.git")
			git(t, project, "add", "-A")
			git(t, project, "commit", "-q", "-m", "ci")
			home := t.TempDir()
			cmd := exec.Command(glci, "--list", "--home", home, "--color=false")
			cmd.Dir = project
			cmd.Env = []string{"HOME=" + home, "PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + t.TempDir()}
			out, err := cmd.CombinedOutput()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(string(out), c.wantErr) {
					t.Fatalf("want an error containing %q, got %v:\n%s", c.wantErr, err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("gitlab-ci-local --list: %v\n%s", err, out)
			}
			for _, j := range c.wantJobs {
				if !strings.Contains(string(out), j) {
					t.Errorf("job %s not in the pipeline:\n%s", j, out)
				}
			}
		})
	}
}
