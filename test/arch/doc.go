// Package arch checks the map in ARCHITECTURE.md against the code: the
// layers signet's packages import through (arch_test.go). It has no code of
// its own.
package arch
