package peer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/policy"
)

// Limits on what Read accepts: a policy repository is small, and a file
// that is not one must not cost the importer more than reading it.
const (
	MaxFileSize  = 8 << 20
	MaxDocuments = 1000
)

// File is one input: its name (for positions) and its bytes. Dir is the
// directory it was read from, for a notation trust policy, whose trust
// store is beside it (ReadFiles sets it).
type File struct {
	Name string
	Data []byte
	Dir  fs.FS
}

// document is one YAML document of an input file: a Kubernetes object.
type document struct {
	file       string
	apiVersion string
	kind       string
	name       string
	root       obj
}

func (d document) String() string {
	if d.name == "" {
		return d.kind
	}
	return d.kind + "/" + d.name
}

// readDocuments splits the files into their objects (a `kind: List`'s
// items included), refusing input that is not YAML, or not a mapping with
// apiVersion and kind, with the position of the problem.
func readDocuments(files []File, errs *errorList) ([]document, error) {
	var out []document
	for _, f := range files {
		if len(f.Data) > MaxFileSize {
			errs.add(policy.FieldError{File: f.Name, Msg: fmt.Sprintf("is %d bytes; the importer reads files up to %d", len(f.Data), MaxFileSize)})
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(f.Data))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				errs.add(policy.YAMLError(f.Name, f.Data, err))
				break
			}
			if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
				continue // an empty document ("---" at the end)
			}
			out = appendObjects(out, errs, f.Name, n.Content[0])
			if len(out) > MaxDocuments {
				errs.add(policy.FieldError{File: f.Name, Msg: fmt.Sprintf("more than %d objects; import them in parts", MaxDocuments)})
				return nil, errs.err()
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// appendObjects appends the object n is, or the items of a List.
func appendObjects(out []document, errs *errorList, file string, n *yaml.Node) []document {
	o := newObj(file, n, "", errs)
	if n.Kind != yaml.MappingNode {
		o.fail(n, "", "must be a Kubernetes object (a mapping with apiVersion and kind), got %s", kindName(n))
		return out
	}
	av, _ := o.str("apiVersion")
	kind, kn := o.str("kind")
	if kind == "List" || strings.HasSuffix(kind, "List") && o.has("items") {
		for i, item := range o.list("items") {
			if item.n.Kind == yaml.MappingNode {
				out = appendObjects(out, errs, file, item.n)
			} else {
				item.fail(item.n, fmt.Sprintf("items[%d]", i), "must be a Kubernetes object")
			}
		}
		return out
	}
	if av == "" || kind == "" {
		o.fail(nodeOr(kn, n), "", "must be a Kubernetes object with apiVersion and kind")
		return out
	}
	name, _ := o.obj("metadata").str("name")
	return append(out, document{file: file, apiVersion: av, kind: kind, name: name, root: o})
}

// errorList gathers problems with positions.
type errorList struct{ errs []policy.FieldError }

func (l *errorList) add(e policy.FieldError) { l.errs = append(l.errs, e) }

func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return &policy.LoadError{Errors: slices.Clone(l.errs)}
}

// obj is a YAML mapping of a source document, read field by field with
// positions: a value of the wrong shape is an error at its position, a
// field that is not there reads as its zero value.
type obj struct {
	file string
	n    *yaml.Node // nil when absent
	path string
	errs *errorList
}

func newObj(file string, n *yaml.Node, path string, errs *errorList) obj {
	return obj{file: file, n: n, path: path, errs: errs}
}

// Pos is where something is in a source file.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Path is the field's path in its document ("spec.rules[0].verifyImages[1]").
	Path string `json:"path,omitempty"`
}

func (p Pos) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", loc, p.Line, p.Column)
	}
	if p.Path != "" {
		loc += ": " + p.Path
	}
	return loc
}

func (o obj) pos() Pos { return o.posOf(o.n, o.path) }

func (o obj) posOf(n *yaml.Node, path string) Pos {
	p := Pos{File: o.file, Path: path}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	} else if o.n != nil {
		p.Line, p.Column = o.n.Line, o.n.Column
	}
	return p
}

// at is the position of key's value (of o itself when key is absent).
func (o obj) at(key string) Pos { return o.posOf(o.value(key), join(o.path, key)) }

func (o obj) fail(n *yaml.Node, field, format string, args ...any) {
	p := o.posOf(n, field)
	o.errs.add(policy.FieldError{File: p.File, Line: p.Line, Column: p.Column, Field: p.Path, Msg: fmt.Sprintf(format, args...)})
}

func (o obj) exists() bool { return o.n != nil }

// value is key's value node, or nil.
func (o obj) value(key string) *yaml.Node {
	if o.n == nil || o.n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(o.n.Content); i += 2 {
		if o.n.Content[i].Value == key {
			return deref(o.n.Content[i+1])
		}
	}
	return nil
}

// deref follows an alias to its anchor (yaml.v3 refuses an anchor that
// contains itself, and bounds how much aliases may expand).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func (o obj) has(key string) bool {
	v := o.value(key)
	return v != nil && !(v.Kind == yaml.ScalarNode && v.Tag == "!!null")
}

// keys lists the keys present, in order, with their key nodes.
func (o obj) keys() []string {
	if o.n == nil || o.n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(o.n.Content); i += 2 {
		out = append(out, o.n.Content[i].Value)
	}
	return out
}

// obj is key's value as a mapping (absent: an empty obj).
func (o obj) obj(key string) obj {
	v := o.value(key)
	child := newObj(o.file, nil, join(o.path, key), o.errs)
	if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return child
	}
	if v.Kind != yaml.MappingNode {
		o.fail(v, join(o.path, key), "must be a mapping, got %s", kindName(v))
		return child
	}
	child.n = v
	return child
}

// list is key's value as a list of mappings.
func (o obj) list(key string) []obj {
	v := o.value(key)
	if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		o.fail(v, join(o.path, key), "must be a list, got %s", kindName(v))
		return nil
	}
	out := make([]obj, 0, len(v.Content))
	for i, c := range v.Content {
		c = deref(c)
		path := fmt.Sprintf("%s[%d]", join(o.path, key), i)
		if c.Kind != yaml.MappingNode {
			o.fail(c, path, "must be a mapping, got %s", kindName(c))
			continue
		}
		out = append(out, newObj(o.file, c, path, o.errs))
	}
	return out
}

// str is key's value as a string (numbers and booleans as written).
func (o obj) str(key string) (string, *yaml.Node) {
	v := o.value(key)
	if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return "", v
	}
	if v.Kind != yaml.ScalarNode {
		o.fail(v, join(o.path, key), "must be a string, got %s", kindName(v))
		return "", v
	}
	return v.Value, v
}

// strs is key's value as a list of strings (a single string as one).
func (o obj) strs(key string) ([]string, []*yaml.Node) {
	v := o.value(key)
	if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil
	}
	if v.Kind == yaml.ScalarNode {
		return []string{v.Value}, []*yaml.Node{v}
	}
	if v.Kind != yaml.SequenceNode {
		o.fail(v, join(o.path, key), "must be a list of strings, got %s", kindName(v))
		return nil, nil
	}
	var out []string
	var nodes []*yaml.Node
	for i, c := range v.Content {
		c = deref(c)
		if c.Kind != yaml.ScalarNode {
			o.fail(c, fmt.Sprintf("%s[%d]", join(o.path, key), i), "must be a string, got %s", kindName(c))
			continue
		}
		out, nodes = append(out, c.Value), append(nodes, c)
	}
	return out, nodes
}

// boolean is key's value as a boolean; def when absent.
func (o obj) boolean(key string, def bool) bool {
	v := o.value(key)
	if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return def
	}
	b, err := strconv.ParseBool(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		o.fail(v, join(o.path, key), "must be true or false, got %q", v.Value)
		return def
	}
	return b
}

// integer is key's value as an integer, and whether it was set.
func (o obj) integer(key string) (int, bool) {
	v := o.value(key)
	if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return 0, false
	}
	i, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		o.fail(v, join(o.path, key), "must be an integer, got %q", v.Value)
		return 0, false
	}
	return i, true
}

// stringMap is key's value as a map of strings.
func (o obj) stringMap(key string) map[string]string {
	m := o.obj(key)
	if !m.exists() {
		return nil
	}
	out := map[string]string{}
	for _, k := range m.keys() {
		v, _ := m.str(k)
		out[k] = v
	}
	return out
}

// unknown lists the fields of o not in known: each is something the
// importer does not understand, and is reported rather than dropped.
func (o obj) unknown(known ...string) []string {
	var out []string
	for _, k := range o.keys() {
		if !slices.Contains(known, k) {
			out = append(out, k)
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func nodeOr(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}
