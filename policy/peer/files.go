package peer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadFiles reads the files Import converts, by path.
func ReadFiles(paths []string) ([]File, error) {
	var files []File
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: p, Data: data, Dir: os.DirFS(filepath.Dir(p))})
	}
	return files, nil
}

// ParseSubjects reads NAME=DN pairs (sign policy import
// --notation-subject) into Options.NotarySubjects; a pair without a name
// or a DN is an error naming it.
func ParseSubjects(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		name, dn, ok := strings.Cut(p, "=")
		if !ok || name == "" || dn == "" {
			return nil, fmt.Errorf("--notation-subject wants NAME=DN, got %q", p)
		}
		out[name] = dn
	}
	return out, nil
}
