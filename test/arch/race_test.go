package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/testdir"
)

// concurrencyImports are packages whose use alone means shared state.
var concurrencyImports = map[string]bool{
	"sync/atomic": true, "golang.org/x/sync/errgroup": true, "golang.org/x/sync/singleflight": true,
}

// syncTypes are the sync package's names for state shared between
// goroutines.
var syncTypes = map[string]bool{"Mutex": true, "RWMutex": true, "WaitGroup": true, "Once": true, "Map": true, "Cond": true, "Pool": true,
	"OnceFunc": true, "OnceValue": true, "OnceValues": true}

// TestRacePhaseCoversTheConcurrentPackages: every shipped package that
// starts a goroutine or shares state behind sync or atomics is in make
// test's race phase (RACE_PKGS), so a data race in it fails CI. The
// commands are covered instead by the end-to-end tests' race-built sign
// and enforce (SIGNET_E2E_RACE).
func TestRacePhaseCoversTheConcurrentPackages(t *testing.T) {
	root := testdir.ModuleRoot(t)
	race := map[string]bool{}
	for _, pkg := range goList(t, root, append([]string{"-f", "{{.ImportPath}}"}, racePatterns(t, root)...)...) {
		race[pkg] = true
	}
	out := goList(t, root, "-f", `{{.ImportPath}} {{.Dir}}{{range .GoFiles}} {{.}}{{end}}`, "./...")
	checked := 0
	for _, line := range out {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module)
		if isUnshipped(pkg) || strings.HasPrefix(pkg, "cmd/") || len(f) < 3 {
			continue
		}
		why := concurrent(t, f[1], f[2:])
		if why == "" {
			continue
		}
		checked++
		if !race[f[0]] {
			t.Errorf("%s %s, and make test's race phase does not run it: add ./%s to RACE_PKGS in the Makefile", pkg, why, pkg)
		}
	}
	if checked == 0 {
		t.Fatal("found no concurrent package at all: the check reads nothing")
	}
}

// racePatterns are the Makefile's RACE_PKGS, as the go command reads them.
func racePatterns(t *testing.T, root string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "RACE_PKGS :="); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatal("the Makefile sets no RACE_PKGS")
	return nil
}

// goList runs go list in root and returns its lines.
func goList(t *testing.T, root string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// concurrent says how a package's files share state between goroutines,
// or "" when they do not.
func concurrent(t *testing.T, dir string, files []string) string {
	t.Helper()
	fset := token.NewFileSet()
	for _, name := range files {
		file, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		syncName := ""
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if concurrencyImports[path] {
				return "imports " + path + " (" + name + ")"
			}
			if path == "sync" {
				syncName = "sync"
				if imp.Name != nil {
					syncName = imp.Name.Name
				}
			}
		}
		why := ""
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				why = "starts a goroutine (" + fset.Position(n.Pos()).String() + ")"
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && syncName != "" && id.Name == syncName && syncTypes[n.Sel.Name] {
					why = "uses sync." + n.Sel.Name + " (" + fset.Position(n.Pos()).String() + ")"
				}
			}
			return why == ""
		})
		if why != "" {
			return strings.Replace(why, dir+string(filepath.Separator), "", 1)
		}
	}
	return ""
}
