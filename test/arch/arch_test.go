package arch

import (
	"slices"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/testdir"
)

const module = "github.com/signet-dev/signet/"

// layers is the import order of what ships, bottom first: a package imports
// signet packages of lower layers only, so imports flow one way and a cycle
// cannot form across packages (Go forbids the direct ones). Every shipped
// package is listed; a new one joins the layer its imports put it in, and
// ARCHITECTURE.md's map with it.
var layers = [][]string{
	{"ci", "ocisig", "trustroot", "verdict", "workload", "internal/buildinfo", "internal/kubecore", "internal/suggest"},
	{"policy", "internal/cliapp", "internal/kmsplugin"},
	{"regclient", "attest", "policy/notationimport"},
	{"verify", "internal/cloudauth", "policy/peer"},
	{"scan", "sign", "manifest"},
	{"policyreport"},
	{"enforce/background"},
	{"enforce"},
	{"enforce/node"},
	// The binaries' command lines, where they live outside cmd/.
	{"internal/signcli", "internal/enforcecli", "internal/nodecli"},
	{"cmd/sign", "cmd/enforce", "cmd/signet-node", "cmd/signet-kms"},
}

// unshipped may import anything and must be imported by nothing that ships:
// test kits, tests and tools.
var unshipped = []string{
	"test/", "tools/", "bench/", "examples/", "deploy", "ci-templates/",
	"test/testworld", "test/sigstoretest", "test/notationtest", "test/golden",
	"test/clidoc", "test/startup", "test/testdir", "test/filelock",
	"tools/demo", "tools/benchfmt", "tools/release", "test/readme",
}

func isUnshipped(pkg string) bool {
	return slices.ContainsFunc(unshipped, func(p string) bool {
		return pkg == strings.TrimSuffix(p, "/") || strings.HasPrefix(pkg, strings.TrimSuffix(p, "/")+"/")
	})
}

// TestImportsFlowOneWay: every shipped package is on the map, imports only
// packages of lower layers, and imports no test kit or tool.
func TestImportsFlowOneWay(t *testing.T) {
	out := goList(t, testdir.ModuleRoot(t), "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	layer := map[string]int{}
	for i, l := range layers {
		for _, p := range l {
			layer[p] = i
		}
	}
	for _, line := range out {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module)
		if isUnshipped(pkg) {
			continue
		}
		own, ok := layer[pkg]
		if !ok {
			t.Errorf("%s is not on the map: put it in the layer its imports give it (layers, ARCHITECTURE.md)", pkg)
			continue
		}
		for _, imp := range f[1:] {
			dep, ours := strings.CutPrefix(imp, module)
			switch {
			case !ours:
			case isUnshipped(dep):
				t.Errorf("%s imports %s, a test kit or tool: nothing that ships may", pkg, dep)
			case layer[dep] >= own:
				t.Errorf("%s (layer %d) imports %s (layer %d): imports flow down only", pkg, own, dep, layer[dep])
			}
		}
	}
}
