package peer

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtures are PEM files the cases name by placeholder (KEY1 becomes the
// PEM of testdata/key1.pub as a quoted YAML string).
var fixtures = map[string]string{"KEY1": "key1.pub", "KEY2": "key2.pub", "FULCIO_CA": "fulcio-ca.pem", "TSA_CHAIN": "tsa.pem"}

func readCase(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := os.ReadFile("testdata/key1.pub")
	k2, _ := os.ReadFile("testdata/key2.pub")
	data = bytes.ReplaceAll(data, []byte("${KEYS}"), []byte(strconv.Quote(string(k1)+string(k2))))
	for _, ph := range slices.Sorted(maps.Keys(fixtures)) {
		pem, err := os.ReadFile(filepath.Join("testdata", fixtures[ph]))
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("${"+ph+"}"), []byte(strconv.Quote(string(pem))))
		data = bytes.ReplaceAll(data, []byte("${"+ph+"_B64}"), []byte(b64(pem)))
	}
	return data
}

// caseOptions reads the options a case asks for in its first comment
// lines ("# allow-weaker", "# notation-subject NAME=DN").
func caseOptions(data []byte) Options {
	opts := Options{NotarySubjects: map[string]string{}}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		switch f := strings.Fields(strings.TrimPrefix(line, "#")); {
		case len(f) == 1 && f[0] == "allow-weaker":
			opts.AllowWeaker = true
		case len(f) >= 2 && f[0] == "notation-subject":
			name, dn, _ := strings.Cut(strings.Join(f[1:], " "), "=")
			opts.NotarySubjects[name] = dn
		}
	}
	return opts
}

// TestImportGolden imports each testdata/import/*.yaml (one construct of
// a source, or a few that interact, described in its first comment) and
// compares the trust file, the files it names and the report with its
// .golden file; every trust file written must load. go test -update
// rewrites the goldens.
func TestImportGolden(t *testing.T) {
	cases, _ := filepath.Glob("testdata/import/*.yaml")
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			data := readCase(t, path)
			res, err := Import([]File{{Name: name + ".yaml", Data: data}}, caseOptions(data))
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			var got bytes.Buffer
			if !res.Report.Refused {
				if _, err := res.Check(); err != nil {
					t.Fatalf("the trust file does not load: %v", err)
				}
				tf, err := res.TrustFile()
				if err != nil {
					t.Fatal(err)
				}
				got.Write(tf)
				for _, f := range slices.Sorted(maps.Keys(res.Files)) {
					fmt.Fprintf(&got, "--- %s: %d bytes\n", f, len(res.Files[f]))
				}
			}
			got.WriteString("--- report\n")
			if err := res.Report.WriteText(&got); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(path, ".yaml")+".golden", got.String(), *update)
		})
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
