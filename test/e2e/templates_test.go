package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/test/testdir"
	"github.com/signet-dev/signet/tools/release"
	"github.com/signet-dev/signet/verify"
)

// This file runs the CI templates in ci-templates/ against the local stack
// (registry, OIDC issuers, Fulcio, TSA, Rekor v2) the way the CI systems run
// them: the GitHub composite action step by step as the Actions runner does,
// and the GitLab template's jobs under gitlab-ci-local's shell executor.

// repoRoot is the module root (test/e2e/../..).
func repoRoot(t *testing.T) string {
	t.Helper()
	return testdir.ModuleRoot(t)
}

// templateDecision runs `sign verify -o json` with the trust file.
func templateDecision(t *testing.T, policyPath, image string) *verify.Decision {
	t.Helper()
	return (&signWorld{}).signVerify(t, policyPath, image)
}

// ---------------------------------------------------------------------------
// GitHub: a minimal composite-action runner.

type compositeAction struct {
	Inputs map[string]struct {
		Default  *string `yaml:"default"`
		Required bool    `yaml:"required"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	With  map[string]string `yaml:"with"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	Run   string            `yaml:"run"`
}

// actionRunner holds one job's state across the composite action's steps,
// as the Actions runner keeps it: the job environment, PATH additions from
// GITHUB_PATH, variables from GITHUB_ENV and each step's outputs.
type actionRunner struct {
	t          *testing.T
	actionPath string
	inputs     map[string]string
	env        map[string]string            // job environment (incl. GITHUB_ENV additions)
	path       []string                     // GITHUB_PATH additions, newest first
	steps      map[string]map[string]string // step id -> outputs
	tempDir    string
	summaries  []string
	log        strings.Builder
}

var exprRef = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// eval resolves one expression: only the forms the action uses; anything
// else fails the test, so a new expression in action.yml gets a conscious
// implementation here rather than silently expanding to "".
func (r *actionRunner) eval(expr string) string {
	r.t.Helper()
	switch {
	case expr == "github.action_path":
		return r.actionPath
	case strings.HasPrefix(expr, "inputs."):
		name := strings.TrimPrefix(expr, "inputs.")
		v, ok := r.inputs[name]
		if !ok {
			r.t.Fatalf("expression %q: the action declares no input %q", expr, name)
		}
		return v
	case strings.HasPrefix(expr, "steps."):
		parts := strings.Split(expr, ".")
		if len(parts) != 4 || parts[2] != "outputs" {
			r.t.Fatalf("unsupported steps expression %q", expr)
		}
		return r.steps[parts[1]][parts[3]] // an unset output is "" on the runner too
	}
	r.t.Fatalf("unsupported expression ${{ %s }} in action.yml: implement it in templates_test.go", expr)
	return ""
}

func (r *actionRunner) expand(s string) string {
	return exprRef.ReplaceAllStringFunc(s, func(m string) string {
		return r.eval(exprRef.FindStringSubmatch(m)[1])
	})
}

var condRe = regexp.MustCompile(`^(inputs\.[A-Za-z0-9_-]+|steps\.[A-Za-z0-9_-]+\.outputs\.[A-Za-z0-9_-]+)\s*(==|!=)\s*'([^']*)'$`)

// cond evaluates a step's `if:`, again only in the forms the action uses.
func (r *actionRunner) cond(c string) bool {
	r.t.Helper()
	c = strings.TrimSpace(c)
	if c == "" {
		return true // the implicit success()
	}
	if m := exprRef.FindStringSubmatch(c); m != nil && m[0] == c {
		c = m[1]
	}
	m := condRe.FindStringSubmatch(c)
	if m == nil {
		r.t.Fatalf("unsupported if: %q", c)
	}
	// GitHub compares strings case-insensitively.
	eq := strings.EqualFold(r.eval(m[1]), m[3])
	return eq == (m[2] == "==")
}

func (r *actionRunner) pathEnv() string {
	return strings.Join(append(append([]string{}, r.path...), r.env["PATH"]), ":")
}

func (r *actionRunner) environ(stepEnv map[string]string, files map[string]string) []string {
	merged := map[string]string{}
	for k, v := range r.env {
		merged[k] = v
	}
	for k, v := range stepEnv {
		merged[k] = v
	}
	for k, v := range files {
		merged[k] = v
	}
	merged["PATH"] = r.pathEnv()
	var env []string
	for k, v := range merged {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// parseFileCommand reads a GITHUB_OUTPUT / GITHUB_ENV file: name=value lines
// and name<<DELIMITER heredocs.
func parseFileCommand(t *testing.T, p string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, "<<") {
			out[k] = v
			continue
		}
		k, delim, ok := strings.Cut(line, "<<")
		if !ok {
			t.Fatalf("%s: invalid line %q", filepath.Base(p), line)
		}
		var val []string
		closed := false
		for sc.Scan() {
			if sc.Text() == delim {
				closed = true
				break
			}
			val = append(val, sc.Text())
		}
		if !closed {
			t.Fatalf("%s: heredoc %s<<%s is not closed", filepath.Base(p), k, delim)
		}
		out[k] = strings.Join(val, "\n")
	}
	return out
}

// setupGo stands in for actions/setup-go: the runner would install the Go
// version of go-version-file; here the installed toolchain must be that
// version (or newer) and goes on PATH the way setup-go adds it. Unless the
// step says cache: false, setup-go (v4 and later) restores the Go build and
// module caches a previous run of the repository saved; the stand-in's
// restored caches are this machine's own (restoredGoCaches).
func (r *actionRunner) setupGo(with map[string]string) {
	r.t.Helper()
	for k := range with {
		if k != "go-version-file" && k != "cache" {
			r.t.Fatalf("actions/setup-go: unsupported input %q", k)
		}
	}
	modFile := r.expand(with["go-version-file"])
	b, err := os.ReadFile(modFile)
	if err != nil {
		r.t.Fatalf("actions/setup-go go-version-file: %v", err)
	}
	want := ""
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "go "); ok {
			want = strings.TrimSpace(v)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		r.t.Fatal(err)
	}
	out, err := exec.Command(goBin, "env", "GOVERSION", "GOROOT").Output()
	if err != nil {
		r.t.Fatal(err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), "\n")
	if got := strings.TrimPrefix(f[0], "go"); want == "" || compareGoVersions(got, want) < 0 {
		r.t.Fatalf("actions/setup-go: %s asks for go %q, this machine has %s", modFile, want, f[0])
	}
	r.path = append([]string{filepath.Join(f[1], "bin")}, r.path...)
	fmt.Fprintf(&r.log, "setup-go: go %s (go.mod wants %s)\n", f[0], want)
	if with["cache"] != "false" {
		maps.Copy(r.env, restoredGoCaches(r.t))
		fmt.Fprintf(&r.log, "setup-go: restored the Go build and module caches\n")
	}
}

// restoredGoCaches is the environment of a job whose setup-go restored the
// caches a previous run saved: GOCACHE and GOMODCACHE of this machine's Go,
// which the test's own builds (and tools/release's) fill. Both are content
// addressed, so sharing them changes what is rebuilt, never what is built:
// a job's `make release` compiles what changed since, as on GitHub.
func restoredGoCaches(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(f) != 2 {
		t.Fatalf("go env GOCACHE GOMODCACHE: %q", out)
	}
	return map[string]string{"GOCACHE": f[0], "GOMODCACHE": f[1]}
}

// localModuleProxy is this machine's module download cache as a GOPROXY
// (file://): the action's go-proxy input pointed at a local mirror, so its
// fresh module cache fills without the network. What it serves is checked
// against the action's go.sum like anything a proxy serves.
func localModuleProxy(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	return "file://" + filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
}

// poisonedGoEnv is what a job (or a restored cache) could leave for the
// action's Go build. Inherited, each would fail the build (or run a
// trojan): the action must build in a clean environment.
func poisonedGoEnv(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	goenv := filepath.Join(dir, "go.env")
	if err := os.WriteFile(goenv, []byte("GOFLAGS=-toolexec=/bin/false\nGOPROXY=off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"GOFLAGS": "-toolexec=/bin/false", "GOWORK": filepath.Join(dir, "nonexistent", "go.work"),
		"GOENV": goenv, "GOPROXY": "off", "GONOSUMDB": "*", "GOINSECURE": "*",
		// Relative: Go refuses to use either, so a build that inherits them fails.
		"GOCACHE": "restored-build-cache", "GOMODCACHE": "restored-module-cache",
	}
}

func compareGoVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(pa) {
			fmt.Sscanf(pa[i], "%d", &x)
		}
		if i < len(pb) {
			fmt.Sscanf(pb[i], "%d", &y)
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// runStep executes one step as the runner does: expressions expanded into
// run and env, the script written to a file and run with
// `bash --noprofile --norc -eo pipefail {0}` in the workspace, fresh file
// command files per step, whose contents then update the job state.
func (r *actionRunner) runStep(i int, st actionStep) {
	r.t.Helper()
	if !r.cond(st.If) {
		fmt.Fprintf(&r.log, "step %d %q skipped (if: %s)\n", i, st.Name, st.If)
		return
	}
	if st.Uses != "" {
		switch {
		case strings.HasPrefix(st.Uses, "actions/setup-go@"):
			r.setupGo(st.With)
			return
		case strings.HasPrefix(st.Uses, "actions/cache@"):
			r.t.Fatalf("step %q restores a cache: whatever it holds would be linked into the binary that holds the OIDC token", st.Name)
		default:
			r.t.Fatalf("step %q uses %s, which this runner does not implement", st.Name, st.Uses)
		}
	}
	if st.Shell != "bash" {
		r.t.Fatalf("step %q: shell %q (composite run steps must name one; only bash is implemented)", st.Name, st.Shell)
	}
	dir := filepath.Join(r.tempDir, "_runner_file_commands", fmt.Sprint(i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	files := map[string]string{}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY", "GITHUB_STATE"} {
		files[k] = filepath.Join(dir, strings.ToLower(k))
		if err := os.WriteFile(files[k], nil, 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	stepEnv := map[string]string{}
	for k, v := range st.Env {
		stepEnv[k] = r.expand(v)
	}
	script := filepath.Join(r.tempDir, fmt.Sprintf("step-%d.sh", i))
	if err := os.WriteFile(script, []byte(r.expand(st.Run)), 0o644); err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = r.env["GITHUB_WORKSPACE"]
	cmd.Env = r.environ(stepEnv, files)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	fmt.Fprintf(&r.log, "::group::step %d %q (%s)\n%s::endgroup::\n", i, st.Name, time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		r.t.Fatalf("step %q failed: %v\n%s", st.Name, err, r.log.String())
	}
	if st.ID != "" {
		r.steps[st.ID] = parseFileCommand(r.t, files["GITHUB_OUTPUT"])
	}
	for k, v := range parseFileCommand(r.t, files["GITHUB_ENV"]) {
		r.env[k] = v
	}
	if b, err := os.ReadFile(files["GITHUB_PATH"]); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				r.path = append([]string{l}, r.path...)
			}
		}
	}
	if b, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"]); len(b) > 0 {
		r.summaries = append(r.summaries, string(b))
	}
}

// runAction runs the composite action at actionPath as the runner runs a
// `uses:` step: inputs from with (checked against the action's inputs, the
// rest at their defaults) also as INPUT_ variables, each step in turn in
// the job environment env, with runnerTemp as RUNNER_TEMP. It returns the
// runner (its log, PATH, step outputs) and the action's outputs.
func runAction(t *testing.T, actionPath string, with, env map[string]string, runnerTemp string) (*actionRunner, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(actionPath, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var action compositeAction
	if err := yaml.Unmarshal(raw, &action); err != nil {
		t.Fatal(err)
	}
	if action.Runs.Using != "composite" {
		t.Fatalf("runs.using = %q, want composite", action.Runs.Using)
	}
	inputs := map[string]string{}
	for name, in := range action.Inputs {
		v, ok := with[name]
		switch {
		case ok:
		case in.Default != nil:
			v = *in.Default
		case in.Required:
			t.Fatalf("required input %q not given", name)
		}
		inputs[name] = v
	}
	for name := range with {
		if _, ok := action.Inputs[name]; !ok {
			t.Fatalf("with: %q is not an input of the action", name)
		}
	}
	env = maps.Clone(env)
	env["RUNNER_TEMP"], env["GITHUB_ACTION_PATH"] = runnerTemp, actionPath
	for name, v := range inputs {
		env["INPUT_"+strings.ToUpper(strings.ReplaceAll(name, " ", "_"))] = v
	}
	r := &actionRunner{t: t, actionPath: actionPath, inputs: inputs, env: env,
		steps: map[string]map[string]string{}, tempDir: runnerTemp}
	for i, st := range action.Runs.Steps {
		r.runStep(i, st)
	}
	outputs := map[string]string{}
	for name, o := range action.Outputs {
		outputs[name] = r.expand(o.Value)
	}
	return r, outputs
}

// ---------------------------------------------------------------------------
// GitLab: the template's jobs under gitlab-ci-local.

// gitlabCILocal installs test/e2e/testdata/gitlab-ci-local (a pinned
// gitlab-ci-local and its lock file) with `npm ci` into the user cache,
// keyed by the lock file's hash, and returns the CLI's path.
func gitlabCILocal(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "test", "e2e", "testdata", "gitlab-ci-local")
	pkg, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(pkg, lock...))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "signet-e2e", "gitlab-ci-local-"+hex.EncodeToString(sum[:8]))
	bin := filepath.Join(dir, "node_modules", ".bin", "gitlab-ci-local")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("npm is not installed: gitlab-ci-local (test/e2e/testdata/gitlab-ci-local) needs Node.js and npm")
	}
	// A private temp dir per process: two test binaries installing at once
	// must not share one (the first to finish publishes, by rename).
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci (gitlab-ci-local): %v\n%s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(bin); statErr != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// readDotenv parses a dotenv report (KEY=value lines).
func readDotenv(t *testing.T, p string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("dotenv report: %v", err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return env
}

// findFile returns the paths under dir named name.
func findFile(t *testing.T, dir, name string) []string {
	t.Helper()
	var found []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == name {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// gitlabPipeline is one pipeline of the GitLab project acme/hello on main,
// run with gitlab-ci-local's shell executor: its files (written and
// committed), its CI/CD variables beyond the predefined ones, and, after
// run, what gitlab-ci-local printed.
type gitlabPipeline struct {
	s       *stack.Stack
	project string
	sha     string
	files   map[string]string
	vars    []string
	out     string
}

// newGitLabPipeline lays out acme/hello with files, whose origin is a
// local GitLab host that serves signet's component (templates/signet.yml of
// signet-dev/signet at the release tag, the ref the component include
// names): gitlab-ci-local resolves `include: component:` by GitLab's rule.
// It returns the pipeline and the tag.
func newGitLabPipeline(t *testing.T, s *stack.Stack, files map[string]string) (*gitlabPipeline, string) {
	t.Helper()
	for _, tool := range []string{"buildah", "git", "rsync"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (gitlab-ci-local's shell executor needs rsync and git; `make tools` installs buildah)", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("the build job runs buildah, which needs root here (as a GitLab runner's job has)")
	}
	root := repoRoot(t)
	gl := newGitLabHost(t)
	tag, err := release.ReleaseVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	component, err := os.ReadFile(filepath.Join(root, "templates", "signet.yml"))
	if err != nil {
		t.Fatal(err)
	}
	gl.publish(t, "signet-dev/signet", tag, map[string][]byte{"templates/signet.yml": component})
	p := &gitlabPipeline{s: s, project: t.TempDir(), files: files}
	for name, body := range files {
		f := filepath.Join(p.project, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(strings.ReplaceAll(body, "SIGNET_TAG", tag)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = p.project
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@acme.example",
			"GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@acme.example", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("remote", "add", "origin", "http://"+gl.Host+"/acme/hello.git")
	git("add", "-A")
	git("commit", "-q", "-m", "hello")
	p.sha = git("rev-parse", "HEAD")
	return p, tag
}

// run runs the jobs up to and including job, with the variables GitLab
// predefines for acme/hello on main, the OIDC token its id_tokens would
// give the job, buildah set up for the stack's plain-HTTP registry, and
// p.vars (pipeline variables, which outrank every job variable on GitLab).
func (p *gitlabPipeline) run(t *testing.T, job string) {
	t.Helper()
	start := time.Now()
	glci := gitlabCILocal(t)
	installed := time.Since(start)
	s := p.s
	claims := stack.GitLabClaims{ProjectPath: "acme/hello", Ref: "main", SHA: p.sha, PipelineID: "1200000042", JobID: "8800000043"}.Defaults()
	token, err := s.OIDC.MintGitLab(claims)
	if err != nil {
		t.Fatal(err)
	}
	cfg := t.TempDir()
	write := func(name, body string) string {
		f := filepath.Join(cfg, name)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	regConf := write("registries.conf", "[[registry]]\nlocation = \""+s.Registry.Host+"\"\ninsecure = true\n")
	storConf := write("storage.conf", "[storage]\ndriver = \"vfs\"\ngraphroot = \""+filepath.Join(cfg, "storage")+
		"\"\nrunroot = \""+filepath.Join(cfg, "run")+"\"\n")
	authFile := write("auth.json", `{"auths":{}}`)
	home := t.TempDir()
	vars := []string{
		// Predefined variables GitLab sets (gitlab-ci-local derives most from
		// the git checkout; these pin them to the token's claims).
		"CI=true", "GITLAB_CI=true", "CI_SERVER_URL=https://gitlab.com",
		"CI_PROJECT_PATH=acme/hello", "CI_PROJECT_NAMESPACE=acme", "CI_PROJECT_ID=" + claims.ProjectID,
		"CI_PROJECT_NAMESPACE_ID=" + claims.NamespaceID, "CI_PROJECT_VISIBILITY=" + claims.ProjectVisibility,
		"CI_COMMIT_REF_NAME=main", "CI_COMMIT_BRANCH=main", "CI_DEFAULT_BRANCH=main", "CI_COMMIT_SHA=" + p.sha,
		"CI_PIPELINE_ID=" + claims.PipelineID, "CI_PIPELINE_SOURCE=push", "CI_JOB_ID=" + claims.JobID,
		"CI_CONFIG_PATH=.gitlab-ci.yml", "CI_RUNNER_ENVIRONMENT=" + claims.RunnerEnvironment,
		"CI_REGISTRY_IMAGE=" + s.Registry.Host + "/acme/hello",
		"SIGSTORE_ID_TOKEN=" + token,
		"CONTAINERS_REGISTRIES_CONF=" + regConf, "CONTAINERS_STORAGE_CONF=" + storConf, "REGISTRY_AUTH_FILE=" + authFile,
	}
	args := []string{"--force-shell-executor", "--home", home, "--color=false"}
	for _, v := range append(vars, p.vars...) {
		args = append(args, "--variable", v)
	}
	args = append(args, "--needs", job)
	cmd := exec.Command(glci, args...)
	cmd.Dir = p.project
	// The runner's machine: the sign binary on PATH (the sign job's image
	// provides it on GitLab), no inherited SIGNET_/CI variables.
	cmd.Env = []string{"HOME=" + home, "PATH=" + filepath.Dir(signBin) + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		"TMPDIR=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir()}
	jobsStart := time.Now()
	out, err := cmd.CombinedOutput()
	p.out = string(out)
	t.Logf("gitlab-ci-local %s (install %s, jobs %s):\n%s", filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(glci)))),
		installed.Round(time.Millisecond), time.Since(jobsStart).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("gitlab-ci-local: %v", err)
	}
	if !strings.Contains(p.out, "PASS") || strings.Contains(p.out, "FAIL") {
		t.Fatalf("gitlab-ci-local did not report the jobs passing")
	}
}

// signed is what the sign job handed on: the reference in its artifact
// signet-image.ref, which must be image@sha256:..., and its dotenv report.
func (p *gitlabPipeline) signed(t *testing.T, image string) (string, map[string]string) {
	t.Helper()
	refs, envs := findFile(t, p.project, "signet-image.ref"), findFile(t, p.project, "signet.env")
	if len(refs) == 0 || len(envs) == 0 {
		t.Fatalf("the jobs wrote signet-image.ref %v and signet.env %v", refs, envs)
	}
	ref, err := os.ReadFile(refs[0])
	if err != nil {
		t.Fatal(err)
	}
	repo, digest, _ := strings.Cut(strings.TrimSpace(string(ref)), "@")
	if repo != image || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("signet-image.ref %q, want %s@sha256:...", ref, image)
	}
	return digest, readDotenv(t, envs[0])
}

// TestGitLabSignJobOnLocalStack includes signet as a CI/CD component
// (`include: component: $CI_SERVER_FQDN/signet-dev/signet/signet@<tag>` with
// inputs, as examples/gitlab does) in acme/hello with examples/trust.yaml,
// and runs the component's build and sign jobs (newGitLabPipeline): buildah
// builds and pushes to the stack's registry, the build job's artifact
// (signet-image.ref) hands the digest to the sign job, which signs it
// keylessly with a GitLab-shaped token as SIGSTORE_ID_TOKEN (what
// `id_tokens:` provides on GitLab; gitlab-ci-local does not mint it) and
// attests it, with the local Sigstore named by the component's
// signing-config input. Pipeline variables that would redirect the token
// (SIGNET_FULCIO_URL, SIGNET_SIGNING_CONFIG to a look-alike Fulcio), swap
// the image or the trust file, or skip the post-check are set and change
// nothing: the look-alike is never called. The trust file is
// examples/trust.yaml with only the issuer, registry and Sigstore root
// pointed at the stack; `sign verify` must accept the digest.
func TestGitLabSignJobOnLocalStack(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	s := stack.New(t, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	root := repoRoot(t)
	image := s.Registry.Host + "/acme/hello"
	trust, err := os.ReadFile(filepath.Join(root, "examples", "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	trustText := rewrite(t, "examples/trust.yaml", string(trust),
		[2]string{"trustedRoot: public-good", "trustedRoot: " + s.TrustedRootPath},
		[2]string{"certificateTransparency: required", "certificateTransparency: optional"}, // the local Fulcio has no CT log
		// The stack's issuer is not gitlab.com, so name the CI system the
		// example's issuer implies (the trust file conventions' `ci: gitlab`).
		[2]string{"      issuer: https://gitlab.com\n", "      issuer: " + s.OIDC.GitLabIssuer + "\n      ci: gitlab\n"},
		[2]string{`"registry.gitlab.com/acme/hello"`, `"` + image + `"`})
	// FROM scratch: the example app's Dockerfile pulls golang from Docker
	// Hub, which this test must not need; buildah still builds and pushes.
	p, _ := newGitLabPipeline(t, s, map[string]string{
		"app/Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n", "app/hello.txt": "hello\n", "trust.yaml": trustText,
		".gitlab-ci.yml": `include:
  - component: $CI_SERVER_FQDN/signet-dev/signet/signet@SIGNET_TAG
    inputs:
      image: ` + image + `
      context: app
      dockerfile: app/Dockerfile
      tags: $CI_COMMIT_SHORT_SHA $CI_COMMIT_REF_SLUG
      signing: keyless
      policy: trust.yaml
      signing-config: ` + s.SigningConfigPath + `
`})
	// Pipeline variables (they outrank every job variable on GitLab) aimed at
	// the sign job: every `sign` flag has a SIGNET_ variable.
	lookalike := newLookalikeFulcio(t)
	allowAll := filepath.Join(t.TempDir(), "allow-all.yaml")
	if err := os.WriteFile(allowAll, []byte("apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages:\n  - {match: ['**'], signature: optional}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.vars = []string{"SIGNET_FULCIO_URL=" + lookalike.URL, "SIGNET_SIGNING_CONFIG=" + lookalike.signingConfig(t),
		"SIGNET_IMAGE=" + s.Registry.Host + "/evil/app@sha256:" + strings.Repeat("0", 64), "SIGNET_POLICY=" + allowAll,
		"SIGNET_NO_POST_CHECK=true", "SIGNET_ATTEST=false", "BUILD_IMAGE=" + s.Registry.Host + "/evil/app"}
	p.run(t, "signet-sign")
	for _, job := range []string{"signet-build", "signet-sign"} {
		if !strings.Contains(p.out, job) {
			t.Fatalf("job %s did not run", job)
		}
	}
	if n := lookalike.hits.Load(); n != 0 {
		t.Fatalf("the look-alike Fulcio a pipeline variable named was called %d times: the job's OIDC token left for it", n)
	}
	digest, signed := p.signed(t, image)
	// Prefixed only: a dotenv variable overrides a later job's own of the
	// same name, and deploy jobs have their own IMAGE and DIGEST.
	if signed["SIGNET_DIGEST"] != digest || signed["SIGNET_IMAGE"] != image+"@"+digest || signed["DIGEST"] != "" || signed["IMAGE"] != "" {
		t.Fatalf("signet.env %v, want SIGNET_DIGEST %s and SIGNET_IMAGE, and no unprefixed name", signed, digest)
	}
	d := templateDecision(t, filepath.Join(p.project, "trust.yaml"), image+"@"+digest)
	if !d.Allowed || len(d.Signatures) == 0 || len(d.Attestations) == 0 {
		t.Fatalf("sign verify with the example trust file denied what the sign job signed: %v (rejected: %v)", d.Messages(), d.Rejected)
	}
	san := "https://gitlab.com/acme/hello//.gitlab-ci.yml@refs/heads/main"
	sig, att := d.Signatures[0], d.Attestations[0]
	if sig.Identity != "hello-gitlab" || sig.Subject != san || sig.LogIndex == nil {
		t.Fatalf("signature %+v, want hello-gitlab by %s with a Rekor entry", sig, san)
	}
	if att.Identity != "hello-gitlab" || att.PredicateType != "https://slsa.dev/provenance/v1" ||
		att.SourceRepository != "https://gitlab.com/acme/hello" || att.SourceRef != "refs/heads/main" || att.SourceDigest != p.sha {
		t.Fatalf("provenance %+v, want SLSA v1 from acme/hello@refs/heads/main (%s)", att, p.sha)
	}
}

// lookalikeFulcio is a server a pipeline variable could point the sign job
// at, counting every request: the job's OIDC token would arrive there.
type lookalikeFulcio struct {
	*httptest.Server
	hits atomic.Int64
}

func newLookalikeFulcio(t *testing.T) *lookalikeFulcio {
	t.Helper()
	l := &lookalikeFulcio{}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		l.hits.Add(1)
		http.Error(w, "look-alike", http.StatusTeapot)
	}))
	t.Cleanup(l.Close)
	return l
}

// signingConfig writes a Sigstore signing config whose every service is
// the look-alike.
func (l *lookalikeFulcio) signingConfig(t *testing.T) string {
	t.Helper()
	cfg := `{"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [{"url": "URL", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "evil"}],
  "rekorTlogUrls": [{"url": "URL", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "evil"}],
  "rekorTlogConfig": {"selector": "ANY"}, "tsaConfig": {"selector": "ANY"}}`
	p := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(cfg, "URL", l.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGitHubSetupActionInstallsAPinnedRelease runs ci-templates/github/setup
// as the runner runs a composite action, with its default inputs, against a
// local HTTPS release server holding this build's sign as the chart's
// release, pinned in the installer exactly as `release pin` pins a release
// (a copy of the action, the only change the pin): it chooses the release,
// downloads and checks it, puts it on PATH for the job's next steps and keeps
// it in the runner's tool cache. A second job on the same runner installs it
// with the release server gone, from the cache.
func TestGitHubSetupActionInstallsAPinnedRelease(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the pin is for linux/amd64")
	}
	root := repoRoot(t)
	version, err := release.ReleaseVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(signBin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+version+"/sign_linux_amd64" {
			http.NotFound(w, r)
			return
		}
		w.Write(bin)
	}))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := t.TempDir()
	copyTree(t, filepath.Join(root, "ci-templates", "github"), filepath.Join(tree, "ci-templates", "github"))
	installer := filepath.Join(tree, "ci-templates", "github", "install-sign.sh")
	script, err := os.ReadFile(installer)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "  *) ;;\nesac\n# END signet release checksums"
	if !strings.Contains(string(script), anchor) {
		t.Fatal("install-sign.sh lost its checksum block")
	}
	pin := `  "` + version + ` linux/amd64") expected=` + hex.EncodeToString(sum[:]) + " ;;\n"
	if err := os.WriteFile(installer, []byte(strings.Replace(string(script), anchor, pin+anchor, 1)), 0o755); err != nil {
		t.Fatal(err)
	}
	toolCache := t.TempDir()
	job := func(base string) (*actionRunner, map[string]string) {
		workspace, runnerTemp := t.TempDir(), t.TempDir()
		env := map[string]string{
			"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": t.TempDir(), "CI": "true", "GITHUB_ACTIONS": "true",
			"GITHUB_WORKSPACE": workspace, "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_TOOL_CACHE": toolCache,
			"SIGNET_DOWNLOAD_BASE": base, "CURL_CA_BUNDLE": ca,
		}
		return runAction(t, filepath.Join(tree, "ci-templates", "github", "setup"), nil, env, runnerTemp)
	}
	for i, base := range []string{srv.URL, "https://127.0.0.1:9"} {
		if i == 1 {
			srv.Close()
		}
		r, outputs := job(base)
		if outputs["source"] != "release" {
			t.Fatalf("job %d: source %q, want the pinned release:\n%s", i+1, outputs["source"], r.log.String())
		}
		cmd := exec.Command("sh", "-c", "sign version")
		cmd.Env = []string{"PATH=" + r.pathEnv()}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "sign ") {
			t.Fatalf("job %d: sign on the job's PATH: %v\n%s\n%s", i+1, err, out, r.log.String())
		}
		if i == 1 && !strings.Contains(r.log.String(), "reusing the cached download") {
			t.Fatalf("job 2 did not install from the tool cache:\n%s", r.log.String())
		}
	}
}
