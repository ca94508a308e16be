package policy

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"
)

// DefaultFile is the trust file a signing run checks against when none is
// named: ./trust.yaml, when it exists.
const DefaultFile = "trust.yaml"

// LoadOptional loads the trust file at path or, when path is "", the
// DefaultFile if there is one; nil and no error when neither (sign's
// preflight and post-check are then skipped, loudly).
func LoadOptional(path string) (*Policy, error) {
	if path == "" {
		if _, err := os.Stat(DefaultFile); err != nil {
			return nil, nil
		}
		path = DefaultFile
	}
	return LoadFile(path)
}

// LoadFile reads and compiles a trust file. Relative paths inside it (a
// trusted_root.json, a public key file) resolve against the file's directory.
// The trust file is the first of the policy's Files (and of a LoadError's).
func LoadFile(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading trust policy: %w", err)
	}
	self := NewFile(path, data)
	p, err := Parse(data, WithSource(path), WithBaseDir(filepath.Dir(path)))
	if le := (*LoadError)(nil); errors.As(err, &le) {
		le.Files = append([]File{self}, le.Files...)
	}
	if p != nil {
		p.Files = append([]File{self}, p.Files...)
	}
	return p, err
}

// File is one file a policy was built from, as it was read: the trust file
// or a file it names (a key's path, a trusted root).
type File struct {
	Path string
	// Digest is "sha256:<hex>" of the bytes read, or "" when the file could
	// not be read (a key file not there yet).
	Digest string
}

// Changed reports whether the file no longer holds what was read: other
// bytes, or readable now and not then (or the reverse).
func (f File) Changed() bool {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return f.Digest != ""
	}
	return digest(data) != f.Digest
}

// NewFile is the record of data, read from path.
func NewFile(path string, data []byte) File { return File{Path: path, Digest: digest(data)} }

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Option configures Parse.
type Option func(*parseConfig)

type parseConfig struct {
	source   string
	baseDir  string
	readFile func(string) ([]byte, error)
	// fields records the fields the loader asks for (decoder.fields).
	fields map[string]bool
	// src is the trust file's text, so errors inside a condition's
	// expression point at the character (Parse sets it).
	src []byte
}

// WithSource names the file in error messages and in Policy.Source.
func WithSource(name string) Option { return func(c *parseConfig) { c.source = name } }

// WithBaseDir sets the directory relative paths resolve against.
func WithBaseDir(dir string) Option { return func(c *parseConfig) { c.baseDir = dir } }

// WithReadFile replaces os.ReadFile for referenced files (tests, fuzzing,
// or a ConfigMap-backed file set).
func WithReadFile(f func(string) ([]byte, error)) Option {
	return func(c *parseConfig) { c.readFile = f }
}

// Parse compiles a trust file from bytes. All problems are reported at once
// in a *LoadError.
func Parse(data []byte, opts ...Option) (*Policy, error) {
	cfg := newParseConfig(opts)
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &LoadError{Errors: []FieldError{YAMLError(cfg.source, data, err)}}
	}
	var extra yaml.Node
	var errs []FieldError
	if err := dec.Decode(&extra); err == nil {
		errs = append(errs, FieldError{File: cfg.source, Line: extra.Line, Column: extra.Column, Msg: "a trust file holds one YAML document; found a second one"})
	}
	if len(doc.Content) == 0 {
		return nil, &LoadError{Errors: []FieldError{{File: cfg.source, Msg: "empty trust file"}}}
	}
	return compile(doc.Content[0], append(opts, func(c *parseConfig) { c.src = data }), errs...)
}

func newParseConfig(opts []Option) parseConfig {
	cfg := parseConfig{baseDir: ".", readFile: os.ReadFile}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// compile validates and compiles a trust file's document node: the one
// path from YAML (Parse) and from Go (New) to a Policy. errs are problems
// already found, reported with the rest.
func compile(n *yaml.Node, opts []Option, errs ...FieldError) (*Policy, error) {
	cfg := newParseConfig(opts)
	l := &loader{cfg: cfg, d: &decoder{file: cfg.source, errs: errs, fields: cfg.fields}, p: &Policy{Source: cfg.source, byName: map[string]*Identity{}}, idNodes: map[*Identity]*yaml.Node{}, earlier: newShadows(), matchNodes: map[*Rule][]*yaml.Node{}}
	l.document(n)
	if len(l.d.errs) > 0 {
		slices.SortStableFunc(l.d.errs, func(a, b FieldError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, &LoadError{Errors: l.d.errs, Files: l.files}
	}
	l.unusedIdentities()
	l.segmentStars(l.matchNodes)
	sortWarnings(l.d.warns)
	l.p.Warnings = l.d.warns
	l.p.Files = l.files
	l.p.Hash = hashPolicy(l.p)
	hashRules(l.p)
	l.p.index = buildIndex(l.p.Rules)
	l.p.memo = newMatchMemo()
	return l.p, nil
}

type loader struct {
	cfg parseConfig
	d   *decoder
	p   *Policy
	// idNodes are the identities' name nodes, for warnings.
	idNodes map[*Identity]*yaml.Node
	// earlier are the rules loaded so far (shadowed).
	earlier shadows
	// files are the files read so far, also those that could not be.
	files []File
	// matchNodes are each rule's compiled patterns' nodes, for warnings.
	matchNodes map[*Rule][]*yaml.Node
}

// read reads a file the trust file names, recording it (Policy.Files): a
// file whose content changes changes what the policy means.
func (l *loader) read(path string) ([]byte, error) {
	data, err := l.cfg.readFile(path)
	f := File{Path: path}
	if err == nil {
		f.Digest = digest(data)
	}
	l.files = append(l.files, f)
	return data, err
}

func (l *loader) document(n *yaml.Node) {
	o := l.d.object(n, "")
	if v, vn := o.str("apiVersion"); v != APIVersion {
		l.d.errorf(nodeOr(vn, n), "apiVersion", "must be %q, got %q", APIVersion, v)
	}
	if v, vn := o.str("kind"); v != Kind {
		l.d.errorf(nodeOr(vn, n), "kind", "must be %q, got %q", Kind, v)
	}
	l.sigstore(o.get("sigstore"))
	for i, in := range o.list("identities") {
		l.identity(in, fmt.Sprintf("identities[%d]", i))
	}
	rules := o.list("images")
	if !o.has("images") || len(rules) == 0 {
		l.d.errorf(n, "images", "at least one image rule is required")
	}
	for i, rn := range rules {
		l.rule(rn, i)
	}
	l.enforcement(o.get("enforcement"))
	o.done()
}

func nodeOr(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}

func (l *loader) requirement(o *object, key string, def Requirement) Requirement {
	v, n := o.str(key)
	switch Requirement(v) {
	case "":
		return def
	case Required, Optional:
		return Requirement(v)
	}
	l.d.errorf(n, o.field(key), "must be %q or %q, got %q", Required, Optional, v)
	return def
}

func (l *loader) sigstore(n *yaml.Node) {
	l.p.Sigstore = l.sigstoreSection(n, "sigstore", Sigstore{TrustedRoot: PublicGood,
		TransparencyLog: Required, SignedTimestamps: Optional, CertificateTransparency: Required})
}

// sigstoreSection reads a sigstore section (the policy's, or an
// identity's): each field left out takes its value from def. A keyless
// signature always needs at least one trusted time (log or timestamp),
// whichever the section makes optional: verify enforces that.
func (l *loader) sigstoreSection(n *yaml.Node, path string, def Sigstore) Sigstore {
	o := l.d.object(n, path)
	s := def
	if v, vn := o.str("trustedRoot"); v == PublicGood {
		s.TrustedRoot, s.TrustedRootDigest = PublicGood, ""
	} else if v != "" {
		path := l.resolve(v)
		data, err := l.read(path)
		if err != nil {
			l.d.errorf(vn, o.field("trustedRoot"), "reading trusted root: %v", err)
		} else {
			s.TrustedRoot, s.TrustedRootDigest = path, digest(data)
		}
	}
	s.TransparencyLog = l.requirement(o, "transparencyLog", def.TransparencyLog)
	s.SignedTimestamps = l.requirement(o, "signedTimestamps", def.SignedTimestamps)
	s.CertificateTransparency = l.requirement(o, "certificateTransparency", def.CertificateTransparency)
	o.done()
	return s
}

func (l *loader) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.cfg.baseDir, p)
}

func (l *loader) identity(n *yaml.Node, path string) {
	o := l.d.object(n, path)
	id := &Identity{}
	nameV, nameN := o.str("name")
	l.idNodes[id] = nodeOr(nameN, n)
	switch {
	case nameV == "":
		l.d.errorf(nodeOr(nameN, n), path+".name", "every identity needs a name")
	case l.p.byName[nameV] != nil:
		l.d.errorf(nameN, path+".name", "duplicate identity name %q", nameV)
	default:
		id.Name = nameV
		l.p.byName[nameV] = id
	}
	hasKeyless, hasKey, hasNotation := o.has("keyless"), o.has("key"), o.has("notation")
	if count(hasKeyless, hasKey, hasNotation) != 1 {
		l.d.errorf(n, path, "an identity has exactly one of keyless, key or notation")
	}
	if hasKeyless {
		id.Keyless = l.keyless(o.get("keyless"), path+".keyless")
	}
	if hasKey {
		id.Key = l.key(o.get("key"), path+".key")
	}
	if hasNotation {
		id.Notation = l.notation(o.get("notation"), path+".notation")
	}
	l.identitySigstore(o, path, id)
	l.p.Identities = append(l.p.Identities, id)
	o.done()
}

func (l *loader) enforcement(n *yaml.Node) {
	o := l.d.object(n, "enforcement")
	e := &l.p.Enforcement
	e.Mode = ModeEnforce
	if v, vn := o.str("mode"); v != "" {
		if m := Mode(v); m == ModeEnforce || m == ModeAudit {
			e.Mode = m
		} else {
			l.d.errorf(vn, "enforcement.mode", "must be %q or %q, got %q", ModeEnforce, ModeAudit, v)
		}
	}
	ns := l.d.object(o.get("namespaces"), "enforcement.namespaces")
	e.AuditNamespaces, _ = ns.strs("audit")
	e.ExemptNamespaces, _ = ns.strs("exempt")
	for _, a := range e.AuditNamespaces {
		if slices.Contains(e.ExemptNamespaces, a) {
			l.d.errorf(ns.get("audit"), "enforcement.namespaces", "namespace %q is both audit and exempt", a)
		}
	}
	e.AuditLabels = l.labels(ns, "auditLabels")
	e.ExemptLabels = l.labels(ns, "exemptLabels")
	ns.done()
	o.done()
}

// labels reads a label selector in matchLabels form: every listed label must
// be present with that value. An empty selector would match every
// namespace, so it is an error rather than a silent cluster-wide exemption.
func (l *loader) labels(o *object, key string) map[string]string {
	n := o.get(key)
	if n == nil {
		return nil
	}
	m := l.d.object(n, o.field(key))
	m.entries = true
	out := map[string]string{}
	for k := range m.keys {
		v, _ := m.str(k)
		out[k] = v
	}
	m.done()
	if len(out) == 0 {
		l.d.errorf(n, o.field(key), "an empty label selector would match every namespace")
	} else {
		l.labelExemption(n, o.field(key), key, out)
	}
	return out
}

// httpsURL validates an issuer or server URL.
func httpsURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("must be an https URL, got %q", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must not carry a query or fragment, got %q", s)
	}
	return nil
}
