package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/test/readme"
)

// The trust file's fields, as four artefacts must agree on them: the
// loader (what it reads), policy/testdata/every-field.yaml (an example of
// each), docs/trust-file.md (a row each, in the section of its top-level
// key, with type, default, example and errors) and
// docs/trust-file.schema.json (a property each, for editors). policy.Spec,
// the Go form of a trust file, has a field for each too.
const (
	everyFieldFile = "testdata/every-field.yaml"
	referenceFile  = "../docs/trust-file.md"
	schemaFile     = "../docs/trust-file.schema.json"
)

// loaderFields are the fields the loader asks for while loading
// every-field.yaml: every field of every object it visits, present or not.
func loaderFields(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(everyFieldFile)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	if _, err := Parse(data, WithSource(everyFieldFile), WithBaseDir("testdata"), func(c *parseConfig) { c.fields = fields }); err != nil {
		t.Fatalf("%s does not load: %v", everyFieldFile, err)
	}
	return fields
}

// TestTrustFileReferenceIsComplete: a field the loader reads is in
// every-field.yaml, in the reference and in the schema (and in Spec), and
// nothing else is. Adding a field to the loader fails here, naming each
// file to extend, until all of them are.
func TestTrustFileReferenceIsComplete(t *testing.T) {
	fields := loaderFields(t)
	if len(fields) < 50 {
		t.Fatalf("the loader asked for only %d fields: the recorder is broken", len(fields))
	}
	t.Run("every-field.yaml has every field", func(t *testing.T) {
		present := yamlPaths(t, everyFieldFile, fields)
		for _, f := range sortedKeys(fields) {
			if !present[f] {
				t.Errorf("%s has no %s: add an example of it", everyFieldFile, f)
			}
		}
	})
	t.Run("docs/trust-file.md has a row for every field, and only for them", func(t *testing.T) {
		rows := referenceRows(t)
		for _, f := range sortedKeys(fields) {
			r, ok := rows[f]
			switch {
			case !ok:
				t.Errorf("%s has no row for %s: add `| `%s` | type | default | example | errors |` under \"## `%s`\"", referenceFile, f, f, topLevel(f))
			case r.section != topLevel(f):
				t.Errorf("%s: the row for %s is under \"## %s\", want \"## `%s`\"", referenceFile, f, r.section, topLevel(f))
			case len(r.cells) != 5 || slices.Contains(r.cells, ""):
				t.Errorf("%s: the row for %s needs five filled cells (field, type, default, example, errors; — when none): %q", referenceFile, f, r.cells)
			}
		}
		for f := range rows {
			if !fields[f] {
				t.Errorf("%s documents %s, which the loader does not read", referenceFile, f)
			}
		}
	})
	t.Run("the JSON Schema has a described property for every field, and only for them", func(t *testing.T) {
		props := schemaProperties(t)
		for _, f := range sortedKeys(fields) {
			if _, ok := props[f]; !ok {
				t.Errorf("%s has no property for %s", schemaFile, f)
			}
		}
		for f, described := range props {
			switch {
			case !fields[f]:
				t.Errorf("%s has a property %s, which the loader does not read", schemaFile, f)
			case !described:
				t.Errorf("%s: %s has no description (editors show it on hover)", schemaFile, f)
			}
		}
	})
	t.Run("policy.Spec has a field for every field, and only for them", func(t *testing.T) {
		spec := map[string]bool{"apiVersion": true, "kind": true} // New sets them
		specPaths(reflect.TypeFor[Spec](), "", spec)
		for _, f := range sortedKeys(fields) {
			if !spec[f] {
				t.Errorf("policy.Spec has no field for %s", f)
			}
		}
		for f := range spec {
			if !fields[f] {
				t.Errorf("policy.Spec has %s, which the loader does not read", f)
			}
		}
	})
}

// TestTrustFileSchemaValidatesExamples: the schema accepts the trust files
// the project ships (the README's quickstart ones too) and refuses what the
// loader refuses for its shape.
func TestTrustFileSchemaValidatesExamples(t *testing.T) {
	s := compileSchema(t)
	for _, f := range []string{everyFieldFile, "testdata/trust.yaml", "../examples/trust.yaml", "../examples/attestations/trust.yaml"} {
		if err := s.Validate(yamlJSON(t, mustRead(t, f))); err != nil {
			t.Errorf("%s violates the schema: %v", f, err)
		}
	}
	blocks, err := readme.Quickstart("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"github trust.yaml", "gitlab trust.yaml"} {
		if err := s.Validate(yamlJSON(t, []byte(blocks[name]))); blocks[name] == "" || err != nil {
			t.Errorf("README's quickstart %q violates the schema (or is missing): %v", name, err)
		}
	}
	bad := map[string]string{
		"an unknown field":            "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimagez: []\nimages: [{match: ['**'], deny: no}]\n",
		"an identity with both kinds": "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nidentities: [{name: x, key: {path: k.pub}, keyless: {issuer: https://i}}]\nimages: [{match: ['**'], deny: no}]\n",
		"a misspelled requirement":    "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nsigstore: {transparencyLog: requird}\nimages: [{match: ['**'], deny: no}]\n",
		"an unanchored regexp":        "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nidentities: [{name: x, keyless: {issuer: https://i, subjectRegExp: 'a.*'}}]\nimages: [{match: ['**'], deny: no}]\n",
		"no rules":                    "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages: []\n",
	}
	for name, doc := range bad {
		if s.Validate(yamlJSON(t, []byte(doc))) == nil {
			t.Errorf("the schema accepts %s", name)
		}
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("the loader accepts %s (the schema must not be stricter than the loader)", name)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(mustRead(t, schemaFile)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("trust-file.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("trust-file.schema.json")
	if err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	return s
}

// yamlJSON is a YAML document as the JSON value a schema validates.
func yamlJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
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

// yamlPaths are the field paths present in a trust file; the keys of a
// mapping that holds no fields (a label selector) are data, not paths.
func yamlPaths(t *testing.T, path string, fields map[string]bool) map[string]bool {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(mustRead(t, path), &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, prefix+"[]")
			}
		case yaml.MappingNode:
			if prefix != "" && !hasChildren(fields, prefix) {
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(prefix, n.Content[i].Value)
				out[p] = true
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(doc.Content[0], "")
	return out
}

func hasChildren(fields map[string]bool, prefix string) bool {
	for f := range fields {
		if strings.HasPrefix(f, prefix+".") {
			return true
		}
	}
	return false
}

type referenceRow struct {
	section string
	cells   []string
}

var (
	sectionRe  = regexp.MustCompile("^## `([A-Za-z]+)`")
	rowFieldRe = regexp.MustCompile("^`([A-Za-z][A-Za-z0-9.\\[\\]]*)`$")
)

// referenceRows are the rows of docs/trust-file.md's field tables (headed
// field, type, default, example, errors), by the "## `key`" section they
// are in.
func referenceRows(t *testing.T) map[string]referenceRow {
	t.Helper()
	rows := map[string]referenceRow{}
	section, inTable := "", false // inTable: in a "| field | type | default | example | errors |" table
	for _, line := range strings.Split(string(mustRead(t, referenceFile)), "\n") {
		if m := sectionRe.FindStringSubmatch(line); m != nil {
			section = m[1]
			continue
		}
		if strings.HasPrefix(line, "## ") {
			section = ""
		}
		cells := splitRow(line)
		if len(cells) == 0 {
			inTable = false
			continue
		}
		if strings.Join(cells, "|") == "field|type|default|example|errors" {
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		m := rowFieldRe.FindStringSubmatch(cells[0])
		if m == nil {
			continue
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("%s has two rows for %s", referenceFile, m[1])
		}
		rows[m[1]] = referenceRow{section: section, cells: cells}
	}
	return rows
}

// splitRow splits a Markdown table row on its unescaped pipes.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	var cells []string
	var cur strings.Builder
	for i := 1; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return cells
}

// schemaProperties are the schema's property paths, each with whether it
// (or the definition it refers to) has a description.
func schemaProperties(t *testing.T) map[string]bool {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(mustRead(t, schemaFile), &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	resolve := func(s map[string]any) map[string]any {
		for {
			ref, ok := s["$ref"].(string)
			if !ok {
				return s
			}
			d, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			if d == nil {
				t.Fatalf("%s: unresolved $ref %s", schemaFile, ref)
			}
			if desc, ok := s["description"]; ok && d["description"] == nil {
				d = mapWith(d, "description", desc)
			}
			s = d
		}
	}
	out := map[string]bool{}
	var walk func(s map[string]any, prefix string)
	walk = func(s map[string]any, prefix string) {
		s = resolve(s)
		if items, ok := s["items"].(map[string]any); ok {
			walk(items, prefix+"[]")
			return
		}
		// A value of either shape (a condition: an expression or a mapping).
		if alts, ok := s["oneOf"].([]any); ok && s["properties"] == nil {
			for _, a := range alts {
				walk(a.(map[string]any), prefix)
			}
			return
		}
		props, ok := s["properties"].(map[string]any)
		if !ok {
			return
		}
		if s["additionalProperties"] != false {
			t.Errorf("%s: %q allows unknown fields; the loader refuses them (additionalProperties: false)", schemaFile, prefix)
		}
		for name, p := range props {
			ps := p.(map[string]any)
			path := join(prefix, name)
			out[path] = ps["description"] != nil || resolve(ps)["description"] != nil
			walk(ps, path)
		}
	}
	walk(root, "")
	return out
}

func mapWith(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{k: v}
	for kk, vv := range m {
		if kk != k {
			out[kk] = vv
		}
	}
	return out
}

// specPaths are the yaml paths of Spec's fields; maps are leaves.
func specPaths(typ reflect.Type, prefix string, out map[string]bool) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := join(prefix, name)
		out[path] = true
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.Struct:
			specPaths(ft, path, out)
		case reflect.Slice:
			if et := ft.Elem(); et.Kind() == reflect.Struct {
				specPaths(et, path+"[]", out)
			}
		}
	}
}

func topLevel(field string) string {
	end := strings.IndexAny(field, ".[")
	if end < 0 {
		return field
	}
	return field[:end]
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
