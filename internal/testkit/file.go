package testkit

import (
	"os"
	"testing"
)

// CopyFile copies a file's bytes over another (owner-only), as an operator
// replacing certificate files would.
func CopyFile(tb testing.TB, from, to string) {
	tb.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}
