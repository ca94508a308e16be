package scan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTerminalProgress(t *testing.T) {
	var b strings.Builder
	if TerminalProgress(&b) != nil {
		t.Error("a buffer got progress: only a terminal should")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if TerminalProgress(f) != nil {
		t.Error("a file got progress: only a terminal should")
	}
	p := progressLine(&b)
	p(1, 2)
	p(2, 2)
	if want := "\rverified 1 of 2 distinct images\rverified 2 of 2 distinct images\r\033[K"; b.String() != want {
		t.Fatalf("progress wrote %q, want %q", b.String(), want)
	}
}
