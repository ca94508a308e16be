package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// documents are the files that tell users which values to give the chart.
var documents = []string{"../README.md", "../examples/README.md", "charts/signet-enforce/README.md", "../docs/gitops.md", "../docs/operations.md"}

// TestValuesSchemaRefusesMistakes: values.schema.json (which helm applies
// on install, upgrade, template and lint) refuses keys the chart does not
// read and values it cannot use, naming them; what is right passes.
func TestValuesSchemaRefusesMistakes(t *testing.T) {
	for _, tc := range []struct {
		name, set, want string
	}{
		{"a misspelt top-level key", "replicas=3", "replicas"},
		{"a misspelt nested key", "webhook.timeoutSecond=5", "timeoutSecond"},
		{"failurePolicy other than Fail or Ignore", "webhook.failurePolicy=fail", "failurePolicy"},
		{"a timeout the apiserver refuses", "webhook.timeoutSeconds=31", "timeoutSeconds"},
		{"a digest that is not sha256", "image.digest=latest", "digest"},
		{"a duration enforce cannot parse", "backgroundScan.interval=hourly", "interval"},
		{"a cloud registry with a scheme", "enforce.cloudRegistries.acr[0]=https://acme.azurecr.io", "acr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateValues(t, setValues(t, tc.set))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("--set %s: %v, want a refusal naming %s", tc.set, err, tc.want)
			}
		})
	}
	for _, set := range []string{"replicaCount=2", "webhook.failurePolicy=Ignore", "image.digest=sha256:" + strings.Repeat("0", 64),
		"fullnameOverride=signet", "enforce.cloudRegistries.acr[0]=acme.azurecr.io"} {
		if err := validateValues(t, setValues(t, set)); err != nil {
			t.Errorf("--set %s: %v", set, err)
		}
	}
}

// TestDocumentedValuesMatchTheSchema: every helm install/upgrade/template
// command and every Flux HelmRelease or Argo CD Application the README,
// the examples and the docs show gives the chart values it accepts.
func TestDocumentedValuesMatchTheSchema(t *testing.T) {
	n := 0
	for _, doc := range documents {
		b, err := os.ReadFile(doc)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range documentedValues(t, string(b)) {
			n++
			if err := validateValues(t, ex.values); err != nil {
				t.Errorf("%s: %s\n%v", doc, ex.where, err)
			}
		}
	}
	t.Logf("%d documented value sets", n)
	if n < 8 {
		t.Fatalf("found %d documented value sets: the documents changed shape, update documentedValues", n)
	}
}

// validateValues validates values as helm does: over the chart's defaults.
func validateValues(t *testing.T, values map[string]any) error {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := chartutil.CoalesceValues(ch, values)
	if err != nil {
		return err
	}
	return chartutil.ValidateAgainstSchema(ch, merged)
}

func setValues(t *testing.T, sets ...string) map[string]any {
	t.Helper()
	v := map[string]any{}
	for _, s := range sets {
		if err := strvals.ParseInto(s, v); err != nil {
			t.Fatalf("--set %s: %v", s, err)
		}
	}
	return v
}

type documented struct {
	where  string
	values map[string]any
}

var (
	fenceRe = regexp.MustCompile("(?ms)^\\s*```(\\w*)\\n(.*?)^\\s*```")
	// placeholders documents write for what only a release knows.
	placeholders = strings.NewReplacer("sha256:…", "sha256:"+strings.Repeat("0", 64), "sha256:...", "sha256:"+strings.Repeat("0", 64))
)

// documentedValues finds the values of each helm command (sh blocks) and of each HelmRelease and Application (yaml blocks).
func documentedValues(t *testing.T, md string) []documented {
	var out []documented
	for _, m := range fenceRe.FindAllStringSubmatch(md, -1) {
		lang, body := m[1], placeholders.Replace(m[2])
		if lang == "yaml" {
			out = append(out, yamlValues(t, body)...)
			if v := valuesFragment(t, body); v != nil {
				out = append(out, documented{"values block " + strings.SplitN(body, "\n", 2)[0], v})
			}
			continue
		}
		for _, cmd := range shellCommands(body) {
			if len(cmd) > 2 && cmd[0] == "helm" && (cmd[1] == "install" || cmd[1] == "upgrade" || cmd[1] == "template") {
				out = append(out, documented{strings.Join(cmd, " "), helmFlags(t, cmd)})
			}
		}
	}
	return out
}

// helmFlags applies a helm command's --set, --set-string and --set-file
// (files read as placeholders) like helm does.
func helmFlags(t *testing.T, cmd []string) map[string]any {
	t.Helper()
	v := map[string]any{}
	for i := 0; i < len(cmd); i++ {
		flag, val, inline := strings.Cut(cmd[i], "=")
		if !inline && i+1 < len(cmd) {
			val = cmd[i+1]
		}
		var err error
		switch flag {
		case "--set":
			err = strvals.ParseInto(val, v)
		case "--set-string":
			err = strvals.ParseIntoString(val, v)
		case "--set-file":
			err = strvals.ParseIntoFile(val, v, func(rs []rune) (any, error) { return "placeholder of " + string(rs), nil })
		default:
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", flag, val, err)
		}
		if !inline {
			i++
		}
	}
	return v
}

// yamlValues returns the values of the HelmRelease and Application
// documents in a yaml block.
func yamlValues(t *testing.T, body string) []documented {
	var out []documented
	for i, doc := range strings.Split(body, "\n---\n") {
		var m struct {
			Kind string `json:"kind"`
			Spec struct {
				Values map[string]any `json:"values"`
				Source struct {
					Helm struct {
						ValuesObject map[string]any `json:"valuesObject"`
					} `json:"helm"`
				} `json:"source"`
			} `json:"spec"`
		}
		if yaml.Unmarshal([]byte(doc), &m) != nil {
			continue
		}
		switch m.Kind {
		case "HelmRelease":
			out = append(out, documented{fmt.Sprintf("HelmRelease (YAML document %d)", i+1), m.Spec.Values})
		case "Application":
			out = append(out, documented{fmt.Sprintf("Application (YAML document %d)", i+1), m.Spec.Source.Helm.ValuesObject})
		}
	}
	return out
}

// shellCommands splits a shell snippet into commands and their words:
// backslash-newline continues a line; quotes group; # starts a comment;
// ;, && and || end a command. Enough for the documents' snippets.
func shellCommands(s string) [][]string {
	s = strings.ReplaceAll(s, "\\\n", " ")
	var cmds [][]string
	for _, line := range strings.Split(s, "\n") {
		var words []string
		var w strings.Builder
		inWord, quote := false, rune(0)
		flush := func() {
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		}
		end := func() {
			flush()
			if len(words) > 0 {
				cmds = append(cmds, words)
			}
			words = nil
		}
		rs := []rune(line)
	scan:
		for i := 0; i < len(rs); i++ {
			r := rs[i]
			switch {
			case quote != 0 && r == quote:
				quote = 0
			case quote != 0:
				w.WriteRune(r)
			case r == '\'' || r == '"':
				quote, inWord = r, true
			case r == '\\' && i+1 < len(rs):
				i++
				w.WriteRune(rs[i])
				inWord = true
			case r == '#' && !inWord:
				break scan
			case r == ';', (r == '&' || r == '|') && i+1 < len(rs) && rs[i+1] == r:
				end()
				if r != ';' {
					i++
				}
			case r == ' ' || r == '\t':
				flush()
			default:
				w.WriteRune(r)
				inWord = true
			}
		}
		end()
	}
	return cmds
}

// valuesFragment is a yaml block that is chart values (every top-level key
// is one the schema knows), or nil.
func valuesFragment(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if yaml.Unmarshal([]byte(body), &m) != nil || len(m) == 0 {
		return nil
	}
	b, err := os.ReadFile(chartDir + "/values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	for k := range m {
		if _, ok := schema.Properties[k]; !ok {
			return nil
		}
	}
	return m
}
