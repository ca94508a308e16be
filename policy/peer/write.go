package peer

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/signet-dev/signet/policy"
)

// Files of an import written to a directory (Result.Write).
const (
	TrustFileName  = "trust.yaml"
	ReportTextName = "import-report.txt"
	ReportJSONName = "import-report.json"
)

// TrustFile renders the imported trust file, with a header that names the
// sources and the report.
func (r *Result) TrustFile() ([]byte, error) {
	doc, err := r.Spec.Marshal()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("# Imported by `sign policy import` from:\n")
	for _, s := range r.Report.Sources {
		fmt.Fprintf(&b, "#   %s\n", s)
	}
	fmt.Fprintf(&b, "# What changed, rule by rule: %s (%d stricter, %d weaker).\n", ReportTextName, r.Report.Count(Stricter), r.Report.Count(Weaker))
	b.Write(doc)
	return b.Bytes(), nil
}

// Check loads the imported trust file as signet will, with the files it
// names: an import that does not load is a bug of the importer.
func (r *Result) Check() (*policy.Policy, error) {
	data, err := r.TrustFile()
	if err != nil {
		return nil, err
	}
	return policy.Parse(data, policy.WithSource(TrustFileName), policy.WithReadFile(func(p string) ([]byte, error) {
		if d, ok := r.Files[filepath.ToSlash(p)]; ok {
			return d, nil
		}
		return nil, os.ErrNotExist
	}), policy.WithBaseDir(""))
}

// Write writes the report (text and JSON) to dir and, unless the import
// was refused, the trust file and the files it names, after checking that
// the trust file loads (Check): an import that does not is never written.
func (r *Result) Write(dir string) error {
	if !r.Report.Refused {
		if _, err := r.Check(); err != nil {
			return fmt.Errorf("the imported trust file does not load (an importer bug, please report it): %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var text, js bytes.Buffer
	if err := r.Report.WriteText(&text); err != nil {
		return err
	}
	if err := r.Report.WriteJSON(&js); err != nil {
		return err
	}
	files := map[string][]byte{ReportTextName: text.Bytes(), ReportJSONName: js.Bytes()}
	if !r.Report.Refused {
		tf, err := r.TrustFile()
		if err != nil {
			return err
		}
		files[TrustFileName] = tf
		maps.Copy(files, r.Files)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}
