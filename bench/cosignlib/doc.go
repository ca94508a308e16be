// Package cosignlib holds the side-by-side benchmark of signet's
// verification engine and cosign's library (verify_bench_test.go); it
// has no code of its own.
package cosignlib
