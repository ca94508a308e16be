package policy

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestEveryFieldIsDocumented: every field of the trust file's schema (the
// yaml names of Spec and what it holds) is named, in backticks, in the
// reference (the README's trust-file section or docs/trust-file.md), or
// shown in one of their YAML examples. A field
// added without its documentation fails here with its path.
func TestEveryFieldIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile("../docs/trust-file.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	if i := strings.Index(section, "\n## The trust file"); i >= 0 {
		section = section[i:]
		if j := strings.Index(section[1:], "\n## "); j >= 0 {
			section = section[:j+1]
		}
	}
	docs := section + string(ref)
	for path, field := range schemaFields(reflect.TypeOf(Spec{}), "") {
		named := regexp.MustCompile("`([A-Za-z\\[\\]]+\\.)*" + field + `\b|(?m)^[ -]*` + field + `:`)
		if !named.MatchString(docs) {
			t.Errorf("trust file field %s is not documented (README's trust-file section or docs/trust-file.md: `%s`)", path, field)
		}
	}
}

// schemaFields maps each field's path (images[].signedBy) to its yaml name.
func schemaFields(t reflect.Type, prefix string) map[string]string {
	out := map[string]string{}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		out[path] = name
		sub := path + "."
		if k := f.Type.Kind(); k == reflect.Slice {
			sub = path + "[]."
		}
		for p, n := range schemaFields(f.Type, sub) {
			out[p] = n
		}
	}
	return out
}
