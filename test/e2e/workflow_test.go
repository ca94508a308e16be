package e2e

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/test/stack"
)

// This file runs GitHub workflows (jobs, matrices, reusable workflows,
// composite actions) the way the Actions runner does, for the release
// workflow's test: every `run:` step executes for real; `uses:` steps of
// third-party actions have stand-ins that check their inputs.

type workflowFile struct {
	On struct {
		WorkflowCall struct {
			Inputs map[string]struct {
				Default any `yaml:"default"`
			} `yaml:"inputs"`
			Outputs map[string]struct {
				Value string `yaml:"value"`
			} `yaml:"outputs"`
		} `yaml:"workflow_call"`
	} `yaml:"on"`
	Env  map[string]string       `yaml:"env"`
	Jobs map[string]*workflowJob `yaml:"jobs"`
}

type workflowJob struct {
	Needs   any               `yaml:"needs"`
	If      string            `yaml:"if"`
	Env     map[string]string `yaml:"env"`
	Outputs map[string]string `yaml:"outputs"`
	// Strategy (a matrix) is not implemented: a job that has one fails.
	Strategy any               `yaml:"strategy"`
	Uses     string            `yaml:"uses"`
	With     map[string]string `yaml:"with"`
	Steps    []actionStep      `yaml:"steps"`
}

func (j *workflowJob) needs() []string {
	switch n := j.Needs.(type) {
	case string:
		return []string{n}
	case []any:
		var out []string
		for _, x := range n {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

type jobResult struct {
	Result  string // success or skipped
	Outputs map[string]string
}

// workflowRun is one run of a workflow file (a reusable workflow gets its own).
type workflowRun struct {
	t       *testing.T
	s       *stack.Stack
	repo    string // the checked-out repository (the commit the tag names)
	file    string // .github/workflows/x.yml, relative to repo
	wf      *workflowFile
	github  map[string]string // the github context
	vars    map[string]string // repository variables
	inputs  map[string]string // workflow_call inputs
	machine map[string]string // the runner machine's environment
	claims  func(workflowFile string) stack.GitHubClaims
	// Stop after these jobs (the rest need GitHub itself).
	only    map[string]bool
	results map[string]jobResult
	// What the stand-ins saw: artifact name -> the workspace it was uploaded
	// from; the composite action's logs.
	artifacts  map[string]string
	actionLogs []string
	Log        strings.Builder
}

func loadWorkflow(t *testing.T, repo, file string) *workflowFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, file))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflowFile
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &wf
}

// run executes the jobs in dependency order (ties by name).
func (w *workflowRun) run() {
	w.t.Helper()
	w.results = map[string]jobResult{}
	done := map[string]bool{}
	for len(done) < len(w.wf.Jobs) {
		var ready []string
		for name, j := range w.wf.Jobs {
			if done[name] {
				continue
			}
			ok := true
			for _, n := range j.needs() {
				ok = ok && done[n]
			}
			if ok {
				ready = append(ready, name)
			}
		}
		if len(ready) == 0 {
			w.t.Fatalf("%s: jobs form a cycle", w.file)
		}
		sort.Strings(ready)
		for _, name := range ready {
			done[name] = true
			if w.only != nil && !w.only[name] {
				fmt.Fprintf(&w.Log, "job %s: not run here (needs GitHub itself)\n", name)
				continue
			}
			w.results[name] = w.runJob(name, w.wf.Jobs[name])
		}
	}
}

func (w *workflowRun) runJob(name string, j *workflowJob) jobResult {
	w.t.Helper()
	if j.If != "" && !truthy(w.eval(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(j.If), "${{"), "}}"), nil)) {
		fmt.Fprintf(&w.Log, "job %s: skipped (if: %s)\n", name, j.If)
		return jobResult{Result: "skipped"}
	}
	if j.Strategy != nil {
		w.t.Fatalf("job %s: strategy is not implemented by the test runner", name)
	}
	if j.Uses != "" {
		return jobResult{Result: "success", Outputs: w.callWorkflow(name, j)}
	}
	return jobResult{Result: "success", Outputs: w.runSteps(name, j)}
}

// callWorkflow runs a local reusable workflow (uses: ./.github/workflows/x.yml).
func (w *workflowRun) callWorkflow(name string, j *workflowJob) map[string]string {
	w.t.Helper()
	file, ok := strings.CutPrefix(j.Uses, "./")
	if !ok {
		w.t.Fatalf("job %s: uses %s: only local reusable workflows are implemented", name, j.Uses)
	}
	wf := loadWorkflow(w.t, w.repo, file)
	inputs := map[string]string{}
	for k, in := range wf.On.WorkflowCall.Inputs {
		if in.Default != nil {
			inputs[k] = fmt.Sprint(in.Default)
		}
	}
	for k, v := range j.With {
		if _, ok := wf.On.WorkflowCall.Inputs[k]; !ok {
			w.t.Fatalf("job %s: with %q is not an input of %s", name, k, file)
		}
		inputs[k] = w.expand(v, nil)
	}
	sub := &workflowRun{t: w.t, s: w.s, repo: w.repo, file: file, wf: wf, github: w.github, vars: w.vars,
		inputs: inputs, machine: w.machine, claims: w.claims, artifacts: w.artifacts}
	sub.run()
	w.actionLogs = append(w.actionLogs, sub.actionLogs...)
	fmt.Fprintf(&w.Log, "job %s -> %s:\n%s", name, file, sub.Log.String())
	outputs := map[string]string{}
	for k, o := range wf.On.WorkflowCall.Outputs {
		outputs[k] = sub.expand(o.Value, nil)
	}
	return outputs
}

// runSteps runs a job's steps on a fresh runner: a workspace, RUNNER_TEMP,
// HOME, the job's OIDC token endpoint for this workflow's identity.
func (w *workflowRun) runSteps(name string, j *workflowJob) map[string]string {
	w.t.Helper()
	start := time.Now()
	workspace, temp, home := w.t.TempDir(), w.t.TempDir(), w.t.TempDir()
	claims := w.claims(w.file)
	reqURL, reqTok := w.s.OIDC.ActionsTokenEndpoint(claims)
	env := maps.Clone(w.machine)
	maps.Copy(env, map[string]string{
		"HOME": home, "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": workspace, "RUNNER_TEMP": temp,
		"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_ENVIRONMENT": claims.RunnerEnvironment,
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": "https://api.github.com",
		"GITHUB_REPOSITORY": claims.Repository, "GITHUB_REPOSITORY_OWNER": claims.RepositoryOwner,
		"GITHUB_REPOSITORY_ID": claims.RepositoryID, "GITHUB_REPOSITORY_OWNER_ID": claims.RepositoryOwnerID,
		"GITHUB_REF": claims.Ref, "GITHUB_REF_NAME": w.github["ref_name"], "GITHUB_REF_TYPE": claims.RefType,
		"GITHUB_SHA": claims.SHA, "GITHUB_WORKFLOW": claims.Workflow, "GITHUB_WORKFLOW_REF": claims.WorkflowRef,
		"GITHUB_WORKFLOW_SHA": claims.WorkflowSHA, "GITHUB_RUN_ID": claims.RunID, "GITHUB_RUN_NUMBER": claims.RunNumber,
		"GITHUB_RUN_ATTEMPT": claims.RunAttempt, "GITHUB_EVENT_NAME": claims.EventName, "GITHUB_ACTOR": claims.Actor,
		"GITHUB_ACTOR_ID": claims.ActorID, "GITHUB_JOB": name,
		"ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqTok,
	})
	for k, v := range w.wf.Env {
		env[k] = w.expand(v, nil)
	}
	for k, v := range j.Env {
		env[k] = w.expand(v, env)
	}
	steps := map[string]map[string]string{}
	var path []string
	for i, st := range j.Steps {
		ctx := stepContext{env: env, steps: steps}
		if st.If != "" && !truthy(w.eval(st.If, &ctx)) {
			continue
		}
		out := w.runStep(name, i, st, env, &path, &ctx, workspace, temp)
		if st.ID != "" {
			steps[st.ID] = out
		}
	}
	outputs := map[string]string{}
	for k, v := range j.Outputs {
		outputs[k] = w.expand(v, env, steps)
	}
	fmt.Fprintf(&w.Log, "job %s in %s\n", name, time.Since(start).Round(time.Millisecond))
	return outputs
}

type stepContext struct {
	env   map[string]string
	steps map[string]map[string]string
}

func truthy(v string) bool { return v != "" && v != "false" && v != "0" }

// eval resolves an expression in the workflow's contexts; a name it does not
// know fails the test, so a new expression gets a conscious implementation.
func (w *workflowRun) eval(expr string, ctx *stepContext) string {
	w.t.Helper()
	return evalExpr(w.t, expr, func(name string) string {
		ns, rest, _ := strings.Cut(name, ".")
		switch ns {
		case "github":
			if v, ok := w.github[rest]; ok {
				return v
			}
		case "vars":
			return w.vars[rest] // an unset repository variable is ""
		case "secrets":
			return ""
		case "inputs":
			if v, ok := w.inputs[rest]; ok {
				return v
			}
		case "env":
			if ctx != nil {
				return ctx.env[rest]
			}
		case "needs":
			job, field, _ := strings.Cut(rest, ".")
			r, ok := w.results[job]
			if !ok && w.wf.Jobs[job] != nil {
				r = jobResult{Result: "skipped"}
				ok = true
			}
			if ok && field == "result" {
				return r.Result
			}
			if out, isOut := strings.CutPrefix(field, "outputs."); ok && isOut {
				return r.Outputs[out]
			}
		case "jobs": // a reusable workflow's outputs
			job, field, _ := strings.Cut(rest, ".")
			if out, ok := strings.CutPrefix(field, "outputs."); ok {
				if r, ran := w.results[job]; ran {
					return r.Outputs[out]
				}
			}
		case "steps":
			id, field, _ := strings.Cut(rest, ".")
			if out, ok := strings.CutPrefix(field, "outputs."); ok && ctx != nil {
				return ctx.steps[id][out]
			}
		}
		w.t.Fatalf("%s: expression context %q is not implemented by the test runner", w.file, name)
		return ""
	})
}

func (w *workflowRun) expand(s string, env map[string]string, steps ...map[string]map[string]string) string {
	ctx := &stepContext{env: env}
	if len(steps) > 0 {
		ctx.steps = steps[0]
	}
	return exprRef.ReplaceAllStringFunc(s, func(m string) string {
		return w.eval(exprRef.FindStringSubmatch(m)[1], ctx)
	})
}

func (w *workflowRun) runStep(job string, i int, st actionStep, env map[string]string, path *[]string, ctx *stepContext, workspace, temp string) map[string]string {
	w.t.Helper()
	with := map[string]string{}
	for k, v := range st.With {
		with[k] = w.expand(v, env, ctx.steps)
	}
	if st.Uses != "" {
		return w.uses(job, st, with, env, path, workspace, temp)
	}
	dir := filepath.Join(temp, "_runner_file_commands", fmt.Sprint(i))
	os.MkdirAll(dir, 0o755)
	files := map[string]string{}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY", "GITHUB_STATE"} {
		files[k] = filepath.Join(dir, strings.ToLower(k))
		os.WriteFile(files[k], nil, 0o644)
	}
	script := filepath.Join(temp, fmt.Sprintf("step-%s-%d.sh", job, i))
	os.WriteFile(script, []byte(w.expand(st.Run, env, ctx.steps)), 0o644)
	stepEnv := maps.Clone(env)
	for k, v := range st.Env {
		stepEnv[k] = w.expand(v, env, ctx.steps)
	}
	maps.Copy(stepEnv, files)
	stepEnv["PATH"] = strings.Join(append(append([]string{}, *path...), env["PATH"]), ":")
	args := []string{"-e", script} // a workflow step's default shell: bash -e {0}
	if st.Shell == "bash" {
		args = []string{"--noprofile", "--norc", "-eo", "pipefail", script}
	}
	cmd := exec.Command("bash", args...)
	cmd.Dir = workspace
	for k, v := range stepEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	fmt.Fprintf(&w.Log, "::group::%s step %d %q (%s)\n%s::endgroup::\n", job, i, st.Name, time.Since(t0).Round(time.Millisecond), lastBytes(out, 6000))
	if err != nil {
		w.t.Fatalf("%s: job %s step %q failed: %v\n%s", w.file, job, st.Name, err, w.Log.String())
	}
	for k, v := range parseFileCommand(w.t, files["GITHUB_ENV"]) {
		env[k] = v
	}
	if b, _ := os.ReadFile(files["GITHUB_PATH"]); len(b) > 0 {
		for _, l := range strings.Fields(string(b)) {
			*path = append([]string{l}, *path...)
		}
	}
	return parseFileCommand(w.t, files["GITHUB_OUTPUT"])
}

// uses runs a `uses:` step: signet's own composite action for real, the
// third-party actions through stand-ins that check what they are given.
func (w *workflowRun) uses(job string, st actionStep, with, env map[string]string, path *[]string, workspace, temp string) map[string]string {
	w.t.Helper()
	action, _, _ := strings.Cut(st.Uses, "@")
	if strings.HasPrefix(action, "./") {
		// A local action: the composite action of a checkout in the workspace.
		r, outputs := runAction(w.t, filepath.Join(workspace, action), with, env, temp)
		fmt.Fprintf(&w.Log, "::group::%s action %s\n%s::endgroup::\n", job, st.Uses, r.log.String())
		w.actionLogs = append(w.actionLogs, r.log.String())
		*path = append(r.path, *path...)
		return outputs
	}
	switch action {
	case "actions/checkout":
		if with["persist-credentials"] != "false" {
			w.t.Fatalf("job %s: actions/checkout must not persist credentials", job)
		}
		if repo := with["repository"]; repo != "" {
			// Another repository at a given commit: here only the reusable
			// workflow's own, as its job's OIDC token names it.
			c := w.claims(w.file)
			own, _, _ := strings.Cut(c.JobWorkflowRef, "/.github/")
			if repo != own || with["ref"] != c.JobWorkflowSHA || with["path"] == "" {
				w.t.Fatalf("job %s: checks out %s@%s into %q, want this workflow's own %s@%s (job_workflow_ref, job_workflow_sha)",
					job, repo, with["ref"], with["path"], own, c.JobWorkflowSHA)
			}
			dst := filepath.Join(workspace, with["path"])
			git(w.t, "", "clone", "-q", "--no-hardlinks", w.repo, dst)
			git(w.t, dst, "checkout", "-q", "--detach", with["ref"])
			break
		}
		if f := with["sparse-checkout"]; f != "" {
			copyTree(w.t, filepath.Join(w.repo, f), filepath.Join(workspace, f))
		} else {
			git(w.t, "", "clone", "-q", "--no-hardlinks", w.repo, workspace)
			// The runner checks out the tree as pushed, including the test's
			// local-stack edits to the trust file (uncommitted in the clone).
			copyTree(w.t, filepath.Join(w.repo, ".github"), filepath.Join(workspace, ".github"))
		}
	case "actions/setup-go":
		r := &actionRunner{t: w.t, env: env}
		if f := with["go-version-file"]; f != "" && !filepath.IsAbs(f) {
			with["go-version-file"] = filepath.Join(workspace, f)
		}
		r.setupGo(with)
		*path = append(r.path, *path...)
		fmt.Fprintf(&w.Log, "%s", r.log.String())
	case "docker/login-action":
		if with["registry"] != w.vars["SIGNET_REGISTRY"] || with["username"] == "" || with["password"] == "" {
			w.t.Fatalf("job %s: docker/login-action with %v, want registry %s and credentials", job, with, w.vars["SIGNET_REGISTRY"])
		}
	case "docker/setup-buildx-action":
		// Nothing to set up: the build-push stand-in pushes without a builder.
	case "docker/build-push-action":
		return w.buildPush(job, with)
	case "actions/upload-artifact":
		for _, p := range strings.Fields(with["path"]) {
			if strings.HasPrefix(p, "!") {
				continue
			}
			if m, _ := filepath.Glob(filepath.Join(workspace, p)); len(m) == 0 {
				w.t.Fatalf("job %s: upload-artifact %s: nothing matches %s", job, with["name"], p)
			}
		}
		w.artifacts[with["name"]] = workspace
	case "signet-dev/signet/ci-templates/github":
		w.t.Fatalf("job %s: uses %s: the reusable workflow must run the action of its own commit (job_workflow_sha), never a fixed ref", job, st.Uses)
	default:
		w.t.Fatalf("job %s: uses %s, which this runner does not implement", job, st.Uses)
	}
	return nil
}

// buildPush stands in for docker/build-push-action: it checks that the
// step pushes without buildx's own unsigned provenance, pushes one image to
// every tag, and answers with its digest, as the action's output does.
func (w *workflowRun) buildPush(job string, with map[string]string) map[string]string {
	w.t.Helper()
	if with["push"] != "true" || with["provenance"] != "false" {
		w.t.Fatalf("job %s: docker/build-push-action with %v, want push: true and provenance: false", job, with)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	tags := strings.FieldsFunc(with["tags"], func(r rune) bool { return r == ',' || r == '\n' })
	if len(tags) == 0 {
		w.t.Fatalf("job %s: docker/build-push-action without tags", job)
	}
	for _, tag := range tags {
		ref, err := name.NewTag(strings.TrimSpace(tag))
		if err != nil {
			w.t.Fatalf("job %s: tag %q: %v", job, tag, err)
		}
		if err := remote.Write(ref, img); err != nil {
			w.t.Fatal(err)
		}
	}
	digest, err := img.Digest()
	if err != nil {
		w.t.Fatal(err)
	}
	fmt.Fprintf(&w.Log, "%s: build-push pushed %s as %s\n", job, digest, strings.Join(tags, ", "))
	return map[string]string{"digest": digest.String()}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// copyTree copies a file or a directory tree.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Dir(dst), 0o755)
		return os.WriteFile(dst, b, info.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return append([]byte("...\n"), b[len(b)-n:]...)
	}
	return b
}
