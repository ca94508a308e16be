package main

import "testing"

// TestDemo keeps `make demo` honest: the development guide's first command runs in CI.
func TestDemo(t *testing.T) {
	if err := run(newEnv()); err != nil {
		t.Fatal(err)
	}
}
