// Package manifest reads Kubernetes manifests as a GitOps repository holds
// them (multi-document YAML or JSON, `kind: List`, the output of `helm
// template` or `kustomize build`) and finds every image the enforce
// webhook would decide in them, with package workload, which the webhook
// itself reads admission requests with. `sign verify -f` is its command:
// a pre-merge gate that refuses a change the cluster would refuse.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/workload"
)

// Object is one workload found in a manifest.
type Object struct {
	// Source and Line say where the object starts ("deploy.yaml", 12).
	Source string `json:"source"`
	Line   int    `json:"line"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	// Namespace is the object's metadata.namespace, "" when it names none
	// (it then lands in the namespace it is applied to).
	Namespace string           `json:"namespace,omitempty"`
	Images    []workload.Image `json:"-"`
}

// Note is an object that was read but not checked, and why: a kind
// without a pod spec (a Service, a CRD, a custom resource), which the
// webhook does not check either.
type Note struct {
	Source string `json:"source"`
	Line   int    `json:"line"`
	Kind   string `json:"kind"`
	Name   string `json:"name,omitempty"`
	Note   string `json:"note"`
}

// Read reads every document of a YAML (or JSON) stream from source. A
// document that is not valid YAML, or not a Kubernetes object, is an error
// naming source:line:column; nothing of a stream with an error is returned,
// so a gate never passes a file it could not read whole.
func Read(r io.Reader, source string) ([]Object, []Note, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", source, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var objs []Object
	var notes []Note
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return objs, notes, nil
		}
		if err != nil {
			return nil, nil, policy.YAMLError(source, data, err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
			continue // an empty document ("---" at the end, a comment only)
		}
		o, n, err := readObject(doc.Content[0], source, "")
		if err != nil {
			return nil, nil, err
		}
		objs, notes = append(objs, o...), append(notes, n...)
	}
}

// readObject reads one object, or the items of a list. itemKind is the
// kind of a typed list's items (DeploymentList), which they may omit.
func readObject(n *yaml.Node, source, itemKind string) ([]Object, []Note, error) {
	at := func(format string, args ...any) error {
		return policy.FieldError{File: source, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, at("not a Kubernetes object: a document must be a mapping with apiVersion and kind")
	}
	var head struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
		Items []yaml.Node `yaml:"items"`
	}
	if err := n.Decode(&head); err != nil {
		return nil, nil, at("not a Kubernetes object: %v", err)
	}
	kind := head.Kind
	if kind == "" {
		kind = itemKind
	}
	if kind == "" || head.APIVersion == "" && itemKind == "" {
		return nil, nil, at("not a Kubernetes object: it has no apiVersion and kind")
	}
	if strings.HasSuffix(kind, "List") && head.Items != nil {
		var objs []Object
		var notes []Note
		for i := range head.Items {
			o, nt, err := readObject(&head.Items[i], source, strings.TrimSuffix(kind, "List"))
			if err != nil {
				return nil, nil, err
			}
			objs, notes = append(objs, o...), append(notes, nt...)
		}
		return objs, notes, nil
	}
	if !workload.SupportedKind(kind) {
		return nil, []Note{{Source: source, Line: n.Line, Kind: kind, Name: head.Metadata.Name,
			Note: "not checked: " + kind + " has no pod spec the webhook checks"}}, nil
	}
	raw, err := toJSON(n)
	if err != nil {
		return nil, nil, at("%s %s: %v", kind, head.Metadata.Name, err)
	}
	w, err := workload.Extract(kind, raw, false)
	if err != nil {
		return nil, nil, at("%s %s: %v", kind, head.Metadata.Name, err)
	}
	return []Object{{Source: source, Line: n.Line, Kind: kind, Name: head.Metadata.Name,
		Namespace: head.Metadata.Namespace, Images: w.Images}}, nil, nil
}

// toJSON is the object as the apiserver would send it to the webhook.
func toJSON(n *yaml.Node) ([]byte, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot be sent as JSON (a mapping key that is not a string?): %w", err)
	}
	return b, nil
}

// ReadPaths reads manifests as `kubectl apply -f` takes them: files, "-"
// for stdin, and directories, whose .yaml, .yml and .json files are read
// in name order, recursively.
func ReadPaths(paths []string, stdin io.Reader) ([]Object, []Note, error) {
	var objs []Object
	var notes []Note
	add := func(r io.Reader, source string) error {
		o, n, err := Read(r, source)
		objs, notes = append(objs, o...), append(notes, n...)
		return err
	}
	for _, p := range paths {
		if p == "-" {
			if err := add(stdin, "<stdin>"); err != nil {
				return nil, nil, err
			}
			continue
		}
		files, err := manifestFiles(p)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			if err := readOne(f, add); err != nil {
				return nil, nil, err
			}
		}
	}
	return objs, notes, nil
}

func readOne(path string, add func(io.Reader, string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return add(f, path)
}

// manifestFiles is p itself, or the manifests under directory p.
func manifestFiles(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains([]string{".yaml", ".yml", ".json"}, filepath.Ext(path)) {
			files = append(files, path)
		}
		return err
	})
	return files, err
}
