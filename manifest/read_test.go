package manifest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/golden"
	"github.com/signet-dev/signet/workload"
)

var update = flag.Bool("update", false, "rewrite golden files")

func readFile(t *testing.T, name string) ([]Object, []Note, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Read(f, name)
}

// listing is what Read found, one line per object, image and note.
func listing(objs []Object, notes []Note, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	for _, o := range objs {
		fmt.Fprintf(&b, "%s:%d: %s %s/%s\n", o.Source, o.Line, o.Kind, o.Namespace, o.Name)
		for _, img := range o.Images {
			fmt.Fprintf(&b, "  %s %s %s\n", img.Where, img.Pointer, img.Image)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "%s:%d: %s %s: %s\n", n.Source, n.Line, n.Kind, n.Name, n.Note)
	}
	return b.String()
}

// TestReadManifests: each manifest in testdata reads to the objects, images
// and notes (or the error) of its golden file, and each case states the
// property it holds the reader to.
func TestReadManifests(t *testing.T) {
	cases := []struct {
		file  string
		check func(t *testing.T, objs []Object, notes []Note, err error)
	}{
		{"pod.yaml", func(t *testing.T, objs []Object, _ []Note, err error) {
			// containers, init and ephemeral containers and image volumes: every image admission decides
			wantImages(t, objs, err, "ghcr.io/acme/migrate:2", "ghcr.io/acme/web:1.4",
				"ghcr.io/acme/proxy@sha256:0000000000000000000000000000000000000000000000000000000000000000",
				"busybox:1.37", "ghcr.io/acme/models:v3")
		}},
		{"every-kind.yaml", func(t *testing.T, objs []Object, _ []Note, err error) {
			// every kind the webhook covers is read; a kind added to the webhook fails here until added to the file
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.Kind)
			}
			slices.Sort(kinds)
			if err != nil || !slices.Equal(kinds, workload.Kinds()) {
				t.Errorf("kinds %v (%v), want every kind the webhook checks: %v", kinds, err, workload.Kinds())
			}
		}},
		{"list.yaml", func(t *testing.T, objs []Object, notes []Note, err error) {
			// a v1 List is read item by item
			wantImages(t, objs, err, "ghcr.io/acme/web:1.4")
			if len(notes) != 1 || notes[0].Kind != "Service" {
				t.Errorf("notes %v, want the Service noted", notes)
			}
		}},
		{"typed-list.yaml", func(t *testing.T, objs []Object, _ []Note, err error) {
			// a typed list's items take the list's kind
			wantImages(t, objs, err, "ghcr.io/acme/web:1.4", "ghcr.io/acme/api:2")
		}},
		{"crds.yaml", func(t *testing.T, objs []Object, notes []Note, err error) {
			// CRDs and custom resources are not checked, and a note says so
			if err != nil || len(objs) != 0 || len(notes) != 3 || !strings.Contains(notes[1].Note, "Rollout has no pod spec the webhook checks") {
				t.Errorf("objects %v notes %v (%v), want three notes and nothing checked", objs, notes, err)
			}
		}},
		{"helm-template.yaml", func(t *testing.T, objs []Object, _ []Note, err error) {
			// helm template output: comments, empty documents and anchors
			wantImages(t, objs, err, "ghcr.io/acme/web:1.4")
		}},
		{"deployment.json", func(t *testing.T, objs []Object, _ []Note, err error) {
			// JSON manifests
			wantImages(t, objs, err, "ghcr.io/acme/web:1.4")
		}},
		{"no-image.yaml", func(t *testing.T, objs []Object, _ []Note, err error) {
			// a container without an image is kept (admission denies it), not dropped
			if err != nil || len(objs) != 1 || len(objs[0].Images) != 1 || objs[0].Images[0].Image != "" {
				t.Errorf("objects %v (%v), want the container with an empty image", objs, err)
			}
		}},
		{"invalid-yaml.yaml", wantError("invalid-yaml.yaml:11:10: invalid YAML")},
		{"invalid-second-document.yaml", wantError("invalid-second-document.yaml:8:")},
		{"not-an-object.yaml", wantError("not-an-object.yaml:5:1: not a Kubernetes object")},
		{"no-kind.yaml", wantError("no-kind.yaml:1:1: not a Kubernetes object: it has no apiVersion and kind")},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.file] = true
		t.Run(c.file, func(t *testing.T) {
			objs, notes, err := readFile(t, c.file)
			c.check(t, objs, notes, err)
			golden.Check(t, filepath.Join("testdata", "golden", c.file+".txt"), listing(objs, notes, err), *update)
		})
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no case in TestReadManifests", f)
		}
	}
}

func wantImages(t *testing.T, objs []Object, err error, want ...string) {
	t.Helper()
	var got []string
	for _, o := range objs {
		for _, img := range o.Images {
			got = append(got, img.Image)
		}
	}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("images %q (%v), want %q", got, err, want)
	}
}

// wantError: nothing is returned, and the error names the position.
func wantError(prefix string) func(*testing.T, []Object, []Note, error) {
	return func(t *testing.T, objs []Object, notes []Note, err error) {
		t.Helper()
		if err == nil || !strings.HasPrefix(err.Error(), prefix) || objs != nil || notes != nil {
			t.Errorf("got %v, %v, error %v; want no objects and an error starting %q", objs, notes, err, prefix)
		}
	}
}
