package release

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

const (
	pinBegin = "# BEGIN signet release checksums"
	pinEnd   = "# END signet release checksums"
	pinTail  = "  *) ;;\nesac\n" + pinEnd
)

// PinChecksums adds the sign binaries' checksums of version to the GitHub
// action's installer (install-sign.sh), between its BEGIN/END markers, so
// the action can install that release, checksum-verified, without
// building from source. Pins already there for version are replaced.
func PinChecksums(script, sums []byte, version string) ([]byte, error) {
	if !bytes.Contains(script, []byte(pinBegin)) || !bytes.Contains(script, []byte(pinTail)) {
		return nil, fmt.Errorf("install-sign.sh: checksum block (%q ... %q) not found", pinBegin, pinEnd)
	}
	parsed, err := ParseChecksums(sums)
	if err != nil {
		return nil, err
	}
	var pins []string
	for name, sum := range parsed {
		platform, ok := strings.CutPrefix(name, "sign_")
		if !ok || strings.Contains(platform, ".") {
			continue
		}
		pins = append(pins, fmt.Sprintf("  \"%s %s\") expected=%s ;;\n", version, strings.Replace(platform, "_", "/", 1), sum))
	}
	if len(pins) == 0 {
		return nil, fmt.Errorf("no sign_<os>_<arch> binaries in the checksums")
	}
	sort.Strings(pins)
	var kept []string
	for _, l := range strings.SplitAfter(string(script), "\n") {
		if !strings.HasPrefix(l, "  \""+version+" ") {
			kept = append(kept, l)
		}
	}
	out := strings.Replace(strings.Join(kept, ""), pinTail, strings.Join(pins, "")+pinTail, 1)
	return []byte(out), nil
}
