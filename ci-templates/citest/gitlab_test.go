package citest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const gitlabSchemaID = "https://gitlab.com/.gitlab-ci.yml"

// gitlabSchema compiles GitLab's CI JSON schema (testdata/README.md says where
// it comes from).
func gitlabSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "gitlab-ci.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(gitlabSchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(gitlabSchemaID)
	if err != nil {
		t.Fatalf("compiling GitLab CI schema: %v", err)
	}
	return s
}

// yamlDocs decodes every YAML document of data into JSON-compatible values
// (the shape the schema validates).
func yamlDocs(t *testing.T, data []byte) []any {
	t.Helper()
	var docs []any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("parsing YAML: %v", err)
		}
		docs = append(docs, jsonValue(t, v))
	}
}

// jsonValue round-trips through encoding/json so numbers and maps have the
// types the validator expects.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var inputRef = regexp.MustCompile(`\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]`)

type specInput struct {
	Default     any      `yaml:"default"`
	Type        string   `yaml:"type"`
	Options     []string `yaml:"options"`
	Regex       string   `yaml:"regex"`
	Description string   `yaml:"description"`
}

// template splits the component into its spec header and its body, and
// returns the body with every input interpolated with its default, the way
// GitLab expands an include without inputs (or with the given inputs, the
// way GitLab expands `include: inputs:`).
func template(t *testing.T, inputs ...map[string]string) (map[string]specInput, []byte, []byte) {
	t.Helper()
	raw := readRepoFile(t, "templates/signet.yml")
	parts := regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), 2)
	if len(parts) != 2 {
		t.Fatal("signet.yml: want a spec header, ---, and the jobs")
	}
	var header struct {
		Spec struct {
			Inputs map[string]specInput `yaml:"inputs"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(strings.NewReader(parts[0]))
	dec.KnownFields(true)
	if err := dec.Decode(&header); err != nil {
		t.Fatalf("spec header: %v", err)
	}
	body := inputRef.ReplaceAllStringFunc(parts[1], func(m string) string {
		name := inputRef.FindStringSubmatch(m)[1]
		in, ok := header.Spec.Inputs[name]
		if !ok {
			t.Errorf("body uses undeclared input %q", name)
			return m
		}
		if len(inputs) > 0 {
			if v, ok := inputs[0][name]; ok {
				return v
			}
		}
		if in.Default == "" {
			return ""
		}
		return strings.TrimSpace(yamlScalar(in.Default))
	})
	return header.Spec.Inputs, []byte(parts[0]), []byte(body)
}

func yamlScalar(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

func validate(t *testing.T, s *jsonschema.Schema, name string, data []byte) {
	t.Helper()
	for i, doc := range yamlDocs(t, data) {
		if err := s.Validate(doc); err != nil {
			t.Errorf("%s (document %d) violates GitLab's CI schema:\n%v", name, i, err)
		}
	}
}

// TestGitLabTemplateMatchesSchema: the spec header, the expanded jobs and
// the example pipeline are valid GitLab CI configuration.
func TestGitLabTemplateMatchesSchema(t *testing.T) {
	s := gitlabSchema(t)
	_, header, body := template(t)
	validate(t, s, "signet.yml spec header", header)
	validate(t, s, "signet.yml jobs (inputs at their defaults)", body)
	validate(t, s, "examples/gitlab/.gitlab-ci.yml", readRepoFile(t, "examples/gitlab/.gitlab-ci.yml"))
}

// TestGitLabSchemaRejectsMistakes proves the schema check is live.
func TestGitLabSchemaRejectsMistakes(t *testing.T) {
	s := gitlabSchema(t)
	_, _, body := template(t)
	cases := []struct{ name, old, new string }{
		{"misspelled job keyword", "  artifacts:\n", "  artefacts:\n"},
		{"id_tokens audience of the wrong type", "      aud: sigstore", "      aud: {x: 1}"},
		{"unknown when", "- when: on_success", "- when: sometimes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(body, []byte(c.old)) {
				t.Fatalf("template lost %q", c.old)
			}
			bad := bytes.Replace(body, []byte(c.old), []byte(c.new), 1)
			for _, doc := range yamlDocs(t, bad) {
				if s.Validate(doc) != nil {
					return
				}
			}
			t.Error("schema accepted the broken template")
		})
	}
}

type job struct {
	Stage    string         `yaml:"stage"`
	Image    any            `yaml:"image"`
	Script   []string       `yaml:"script"`
	IDTokens map[string]any `yaml:"id_tokens"`
	Needs    []struct {
		Job       string `yaml:"job"`
		Artifacts bool   `yaml:"artifacts"`
		Optional  bool   `yaml:"optional"`
	} `yaml:"needs"`
	Services []struct {
		Name  string `yaml:"name"`
		Alias string `yaml:"alias"`
	} `yaml:"services"`
	Rules []struct {
		If   string `yaml:"if"`
		When string `yaml:"when"`
	} `yaml:"rules"`
	Variables map[string]string `yaml:"variables"`
	Artifacts struct {
		Paths   []string `yaml:"paths"`
		Reports struct {
			Dotenv string `yaml:"dotenv"`
		} `yaml:"reports"`
	} `yaml:"artifacts"`
}

// skipped evaluates a job's input-only rules (`"a" != "b" || ...` with
// when: never), as GitLab does once the inputs are written in: whether
// the job is left out of every pipeline.
func skipped(t *testing.T, j job) bool {
	t.Helper()
	cmp := regexp.MustCompile(`^"([^"]*)" (!=|==) "([^"]*)"$`)
	for _, r := range j.Rules {
		if r.When != "never" || !strings.HasPrefix(r.If, `"`) {
			continue
		}
		for _, term := range strings.Split(r.If, " || ") {
			m := cmp.FindStringSubmatch(term)
			if m == nil {
				t.Fatalf("rule %q: only \"a\" != \"b\" terms joined by || are evaluated here", r.If)
			}
			if (m[1] == m[3]) == (m[2] == "==") {
				return true
			}
		}
	}
	return false
}

// expandJobs is jobs, under a name the structure test's local jobs leaves free.
var expandJobs = jobs

// jobs expands the component (inputs at their defaults, or as given) into its jobs.
func jobs(t *testing.T, inputs ...map[string]string) map[string]job {
	t.Helper()
	_, _, body := template(t, inputs...)
	var out map[string]job
	if err := yaml.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGitLabTemplateStructure: the properties signet's security story relies
// on, stated one by one.
func TestGitLabTemplateStructure(t *testing.T) {
	inputs, _, body := template(t)
	jobs := jobs(t)
	build, sign := jobs["signet-build"], jobs["signet-sign"]
	buildScript, signScript := strings.Join(build.Script, "\n"), strings.Join(sign.Script, "\n")

	t.Run("spec declares the documented inputs", func(t *testing.T) {
		for _, name := range []string{"image", "context", "dockerfile", "tags", "signing", "policy", "signet-version"} {
			if _, ok := inputs[name]; !ok {
				t.Errorf("spec.inputs lacks %q", name)
			}
		}
		if got := inputs["signing"]; !slices.Equal(got.Options, []string{"keyless", "key"}) || got.Default != "keyless" {
			t.Errorf("signing: want options [keyless key] default keyless, got %+v", got)
		}
	})
	t.Run("every declared input is used", func(t *testing.T) {
		raw := string(readRepoFile(t, "templates/signet.yml"))
		for name := range inputs {
			if !strings.Contains(raw, "inputs."+name+" ]]") {
				t.Errorf("input %q is declared but never used", name)
			}
		}
	})
	t.Run("builds with buildah, no daemon, and records the pushed digest", func(t *testing.T) {
		for _, want := range []string{"buildah build --layers", "buildah push --digestfile image.digest", "> signet-image.ref"} {
			if !strings.Contains(buildScript, want) {
				t.Errorf("build script lacks %q", want)
			}
		}
		if strings.Contains(buildScript, "docker ") || build.Variables["DOCKER_HOST"] != "" {
			t.Error("build job must not need a Docker daemon")
		}
	})
	t.Run("the digest travels as a file artifact, never as a variable", func(t *testing.T) {
		for _, name := range []string{"signet-build", "signet-build-docker"} {
			j := jobs[name]
			if !slices.Equal(j.Artifacts.Paths, []string{"signet-image.ref"}) || j.Artifacts.Reports.Dotenv != "" {
				t.Errorf("%s: artifacts %+v, want only the file signet-image.ref (a dotenv report would set variables in the sign job)", name, j.Artifacts)
			}
		}
		if !strings.Contains(signScript, `ref="$(cat signet-image.ref)"`) || !strings.Contains(signScript, `--dotenv signet.env "$ref"`) {
			t.Error("the sign job must sign the reference it reads from the build job's signet-image.ref")
		}
	})
	t.Run("sign job gets a sigstore-audience OIDC token", func(t *testing.T) {
		tok, ok := sign.IDTokens["SIGSTORE_ID_TOKEN"].(map[string]any)
		if !ok || tok["aud"] != "sigstore" {
			t.Errorf("id_tokens: want SIGSTORE_ID_TOKEN {aud: sigstore}, got %v", sign.IDTokens)
		}
	})
	t.Run("sign job signs the pushed digest from the build job", func(t *testing.T) {
		// Exactly one of the two build jobs exists in a pipeline (rules), so
		// the sign job needs each optionally, with its artifacts.
		if len(sign.Needs) != 2 || sign.Needs[0].Job != "signet-build" || sign.Needs[1].Job != "signet-build-docker" ||
			!sign.Needs[0].Artifacts || !sign.Needs[1].Artifacts || !sign.Needs[0].Optional || !sign.Needs[1].Optional {
			t.Errorf("sign job must optionally need signet-build and signet-build-docker with artifacts, got %+v", sign.Needs)
		}
	})
	t.Run("inputs are written into the jobs, not into variables a pipeline variable overrides", func(t *testing.T) {
		for name, j := range jobs {
			for k := range j.Variables {
				if strings.HasPrefix(k, "SIGNET_") || strings.HasPrefix(k, "BUILD_") {
					t.Errorf("%s: variable %s: pipeline, project and dotenv variables of that name would override it", name, k)
				}
			}
		}
		for _, want := range []string{`--policy "trust.yaml"`, "--attest=true", `"$@"`, "env -i"} {
			if !strings.Contains(signScript, want) {
				t.Errorf("sign script lacks %q", want)
			}
		}
	})
	t.Run("no script entry's first line runs anything when a runner echoes it", func(t *testing.T) {
		// gitlab-ci-local prints each entry's first line inside double quotes:
		// a backtick or $( there runs as a command substitution.
		for name, j := range jobs {
			for _, entry := range j.Script {
				first, _, _ := strings.Cut(entry, "\n")
				if strings.Contains(first, "`") || strings.Contains(first, "$(") {
					t.Errorf("%s: first line %q", name, first)
				}
			}
		}
	})
	t.Run("post-check is never skipped", func(t *testing.T) {
		if strings.Contains(string(body), "no-post-check") || strings.Contains(string(body), "NO_POST_CHECK") {
			t.Error("template must not disable sign's post-check")
		}
	})
	t.Run("key mode reads the key from a variable: a File variable or cosign's COSIGN_PRIVATE_KEY", func(t *testing.T) {
		if !strings.Contains(signScript, `--key "$SIGNET_KEY_FILE"`) || !strings.Contains(signScript, "--key env://COSIGN_PRIVATE_KEY") {
			t.Error("key signing must come from the File variable SIGNET_KEY_FILE or from COSIGN_PRIVATE_KEY")
		}
	})
	t.Run("sign job exports a dotenv report", func(t *testing.T) {
		if sign.Artifacts.Reports.Dotenv != "signet.env" || !strings.Contains(signScript, "--dotenv signet.env") {
			t.Errorf("want sign --dotenv signet.env reported as artifacts:reports:dotenv, got %q", sign.Artifacts.Reports.Dotenv)
		}
	})
	t.Run("the builder and digest inputs select at most one build job", func(t *testing.T) {
		if got := inputs["builder"]; !slices.Equal(got.Options, []string{"buildah", "docker", "none"}) || got.Default != "buildah" {
			t.Errorf("builder: want options [buildah docker none] default buildah, got %+v", got)
		}
		if got := inputs["digest"]; got.Default != "" || !regexp.MustCompile(got.Regex).MatchString(signedDigest) ||
			regexp.MustCompile(got.Regex).MatchString("$BUILD_DIGEST") {
			t.Errorf("digest: want default empty and a regex that takes a sha256 digest and refuses a variable, got %+v", got)
		}
		for _, c := range []struct {
			inputs map[string]string
			runs   []string
		}{
			{nil, []string{"signet-build"}},
			{map[string]string{"builder": "docker"}, []string{"signet-build-docker"}},
			{map[string]string{"builder": "none"}, nil},
			{map[string]string{"digest": signedDigest}, nil},
			{map[string]string{"builder": "docker", "digest": signedDigest}, nil},
		} {
			var runs []string
			expanded := expandJobs(t, c.inputs)
			for _, name := range []string{"signet-build", "signet-build-docker"} {
				if !skipped(t, expanded[name]) {
					runs = append(runs, name)
				}
			}
			if !slices.Equal(runs, c.runs) {
				t.Errorf("inputs %v: build jobs %v run, want %v", c.inputs, runs, c.runs)
			}
		}
	})
	t.Run("docker builder uses Docker-in-Docker and records the pushed digest", func(t *testing.T) {
		d := jobs["signet-build-docker"]
		script := strings.Join(d.Script, "\n")
		if len(d.Services) != 1 || !strings.HasSuffix(d.Services[0].Name, "-dind") || d.Services[0].Alias != "docker" {
			t.Errorf("want one docker:dind service aliased docker, got %+v", d.Services)
		}
		if d.Variables["DOCKER_HOST"] != "tcp://docker:2376" || d.Variables["DOCKER_TLS_VERIFY"] != "1" {
			t.Errorf("want the dind daemon over TLS, got %v", d.Variables)
		}
		for _, want := range []string{"docker buildx build --push", "--metadata-file build.json", "containerimage.digest", "> signet-image.ref"} {
			if !strings.Contains(script, want) {
				t.Errorf("docker build script lacks %q", want)
			}
		}
	})
	t.Run("a component sets no global keywords in the including pipeline", func(t *testing.T) {
		var top map[string]any
		if err := yaml.Unmarshal(body, &top); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"variables", "default", "stages", "workflow", "include", "image", "services", "cache", "before_script", "after_script"} {
			if _, ok := top[k]; ok {
				t.Errorf("top-level %q would change every job of the pipeline that includes the component", k)
			}
		}
	})
	t.Run("jobs run in GitLab's default stages", func(t *testing.T) {
		for name, j := range jobs {
			if !slices.Contains([]string{".pre", "build", "test", "deploy", ".post"}, j.Stage) {
				t.Errorf("job %s: stage %q is not a default stage; an includer would have to declare it", name, j.Stage)
			}
		}
	})
}
