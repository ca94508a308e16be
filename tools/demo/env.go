package main

import (
	"fmt"
	"os"
	"slices"
)

// env implements testworld.TB for a program: failures abort the demo,
// cleanups run once at exit, in reverse order.
type env struct {
	cleanups []func()
	dirs     []string
}

func newEnv() *env { return &env{} }

func (e *env) Helper() {}

func (e *env) Fatal(args ...any) { e.fail(fmt.Sprint(args...)) }

func (e *env) Fatalf(format string, args ...any) { e.fail(fmt.Sprintf(format, args...)) }

func (e *env) fail(msg string) {
	fmt.Fprintf(os.Stderr, "\ndemo FAILED: %s\n", msg)
	e.close()
	os.Exit(1)
}

func (e *env) Cleanup(f func()) { e.cleanups = append(e.cleanups, f) }

func (e *env) TempDir() string {
	d, err := os.MkdirTemp("", "signet-demo-")
	if err != nil {
		e.fail(err.Error())
	}
	e.dirs = append(e.dirs, d)
	return d
}

func (e *env) close() {
	cs := e.cleanups
	e.cleanups = nil
	for _, f := range slices.Backward(cs) {
		f()
	}
	for _, d := range e.dirs {
		os.RemoveAll(d)
	}
	e.dirs = nil
}
