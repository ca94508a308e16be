package peer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/policy"
)

// FuzzImport: the importer never crashes on hostile input; what it cannot
// read is a *policy.LoadError; and whenever its report accepts an import,
// the trust file it writes loads. Seeded with every golden case.
func FuzzImport(f *testing.F) {
	cases, _ := filepath.Glob("testdata/import/*.yaml")
	for _, c := range cases {
		data, err := os.ReadFile(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nspec:\n  rules:\n  - verifyImages:\n    - imageReferences: ['*?*?*?*?*?*?*?*?']\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("apiVersion: policies.kyverno.io/v1\nkind: ImageValidatingPolicy\nspec:\n  validations:\n  - expression: images.x.all(i, i.map(j, j))\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Import([]File{{Name: "f.yaml", Data: data}}, Options{AllowWeaker: true})
		if err != nil {
			if le := (*policy.LoadError)(nil); !errors.As(err, &le) {
				t.Fatalf("error %v is not a LoadError with positions", err)
			}
			return
		}
		if res.Report.Refused {
			return
		}
		if _, err := res.Check(); err != nil {
			t.Fatalf("an accepted import does not load: %v\nreport:\n%+v", err, res.Report.Differences)
		}
	})
}
