package enforce

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteNew writes ca.crt, tls.crt and tls.key (mode 0600) into dir,
// creating it, and returns their paths. It refuses, before writing
// anything, when any of them exists: a CA the cluster already trusts must
// never be replaced by accident.
func (sc *ServingCertificate) WriteNew(dir string) ([]string, error) {
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{{"ca.crt", sc.CA, 0o644}, {"tls.crt", sc.Cert, 0o644}, {"tls.key", sc.Key, 0o600}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%s exists: not replacing it (remove it, or choose another --out)", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		paths = append(paths, p)
	}
	for i, f := range files {
		if err := os.WriteFile(paths[i], f.data, f.mode); err != nil {
			return nil, err
		}
	}
	return paths, nil
}
