package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/internal/suggest"
)

// decoder walks a yaml.Node tree and records errors with positions. It is
// deliberately explicit instead of reflective: every field the trust file
// accepts is named once, in the load code, next to its validation.
type decoder struct {
	file  string
	errs  []FieldError
	warns []Warning
	// fields, when set, records every field the loader asks for, present
	// or not, as a schema path ("identities[].keyless.refs"): the trust
	// file's schema as the code knows it (TestTrustFileReferenceIsComplete).
	fields map[string]bool
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	fe := FieldError{File: d.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		fe.Line, fe.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, fe)
}

// object is a YAML mapping being decoded; done reports keys nobody asked for.
type object struct {
	d     *decoder
	node  *yaml.Node
	path  string
	keys  map[string]*yaml.Node // key -> value
	knots map[string]*yaml.Node // key -> key node (for positions)
	used  map[string]bool
	// entries marks a mapping whose keys are data (a label selector), not fields.
	entries bool
}

func (d *decoder) object(n *yaml.Node, path string) *object {
	o := &object{d: d, node: n, path: path, keys: map[string]*yaml.Node{}, knots: map[string]*yaml.Node{}, used: map[string]bool{}}
	if n == nil {
		return o
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping, got %s", kindName(n))
		return o
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := o.keys[k.Value]; dup {
			d.errorf(k, join(path, k.Value), "duplicate key")
			continue
		}
		o.keys[k.Value], o.knots[k.Value] = v, k
	}
	return o
}

func (o *object) field(key string) string { return join(o.path, key) }

// get returns the value node for key, or nil.
func (o *object) get(key string) *yaml.Node {
	o.used[key] = true
	if o.d.fields != nil && !o.entries {
		o.d.fields[schemaPath(o.field(key))] = true
	}
	return o.keys[key]
}

var listIndex = regexp.MustCompile(`\[\d+\]`)

// schemaPath is a field's path without list indexes: identities[2].key ->
// identities[].key.
func schemaPath(field string) string { return listIndex.ReplaceAllString(field, "[]") }

func (o *object) has(key string) bool { _, ok := o.keys[key]; return ok }

func (o *object) str(key string) (string, *yaml.Node) {
	n := o.get(key)
	if n == nil {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		o.d.errorf(n, o.field(key), "must be a string, got %s", kindName(n))
		return "", n
	}
	return n.Value, n
}

func (o *object) boolean(key string) (bool, *yaml.Node) {
	n := o.get(key)
	if n == nil {
		return false, nil
	}
	b, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
		o.d.errorf(n, o.field(key), "must be true or false, got %q", n.Value)
	}
	return b, n
}

func (o *object) integer(key string) (int, *yaml.Node) {
	n := o.get(key)
	if n == nil {
		return 0, nil
	}
	i, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		o.d.errorf(n, o.field(key), "must be an integer, got %q", n.Value)
	}
	return i, n
}

// strs accepts a sequence of strings, or a single string as a one-element list.
func (o *object) strs(key string) ([]string, []*yaml.Node) {
	n := o.get(key)
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}, []*yaml.Node{n}
	}
	if n.Kind != yaml.SequenceNode {
		o.d.errorf(n, o.field(key), "must be a list of strings, got %s", kindName(n))
		return nil, nil
	}
	out := make([]string, 0, len(n.Content))
	nodes := make([]*yaml.Node, 0, len(n.Content))
	for i, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			o.d.errorf(c, fmt.Sprintf("%s[%d]", o.field(key), i), "must be a string, got %s", kindName(c))
			continue
		}
		out = append(out, c.Value)
		nodes = append(nodes, c)
	}
	return out, nodes
}

// list returns the items of a sequence.
func (o *object) list(key string) []*yaml.Node {
	n := o.get(key)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.d.errorf(n, o.field(key), "must be a list, got %s", kindName(n))
		return nil
	}
	return n.Content
}

// done reports every key that was present but never read: an unknown field.
func (o *object) done() {
	for k, kn := range o.knots {
		if !o.used[k] {
			o.d.errorf(kn, o.field(k), "unknown field %q%s", k, suggest.DidYouMean(k, o.knownKeys()))
		}
	}
}

func (o *object) knownKeys() []string {
	out := make([]string, 0, len(o.used))
	for k := range o.used {
		out = append(out, k)
	}
	slices.Sort(out) // a tie between two suggestions goes the same way every time
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "null"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}
