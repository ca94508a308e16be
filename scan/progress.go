package scan

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// TerminalProgress is an Engine.Progress for a person watching: one line,
// rewritten, on w when w is a terminal; nil (no progress) when w is a file
// or a pipe, so logs and CI output stay clean.
func TerminalProgress(w io.Writer) func(done, total int) {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressLine(w)
}

// progressLine rewrites one line on w ("verified 3 of 7 distinct
// images") and clears it when the last reference is decided.
func progressLine(w io.Writer) func(done, total int) {
	var mu sync.Mutex
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "\rverified %d of %d distinct images", done, total)
		if done == total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}
