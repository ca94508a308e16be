package release

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ChecksumsFile is the release's checksum list, in sha256sum's format
// (`sha256sum --check SHA256SUMS` verifies a download).
const ChecksumsFile = "SHA256SUMS"

// WriteChecksums writes SHA256SUMS in dir for the named files (relative to
// dir), sorted by name.
func WriteChecksums(dir string, files []string) ([]byte, error) {
	names := append([]string(nil), files...)
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s  %s\n", sha256Hex(data), n)
	}
	return b.Bytes(), os.WriteFile(filepath.Join(dir, ChecksumsFile), b.Bytes(), 0o644)
}

// ParseChecksums reads a SHA256SUMS file: name -> hex digest.
func ParseChecksums(b []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 || name == "" {
			return nil, fmt.Errorf("%s: malformed line %q", ChecksumsFile, sc.Text())
		}
		out[name] = sum
	}
	return out, sc.Err()
}
