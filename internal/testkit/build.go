package testkit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// builds holds one *build per command name, so that each is compiled once per test process.
var builds sync.Map

type build struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the module's command cmd/name once per test process and returns the binary's
// path, for the tests that run the real binaries as users and farms do.
//
// The binary lives in the user's cache directory, in a directory of the checkout's own, under
// the command's name, and each build replaces it with a rename: a test binary that ends through
// os.Exit (pgtest.Main, miniotest.Main) has no moment to remove a temporary directory, the disk
// holds one copy, a test still running the previous build is unaffected, and two checkouts do
// not run each other's code.
func Build(tb testing.TB, name string) string {
	tb.Helper()
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() { b.path, b.err = buildCommand(name) })
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

func buildCommand(name string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	checkout := sha256.Sum256([]byte(root))
	dir := filepath.Join(cache, "sunomi", "test-bin", hex.EncodeToString(checkout[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build ./cmd/%s: %w", name, err)
	}
	path := filepath.Join(dir, name)
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "./cmd/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("build ./cmd/%s: %w", name, err)
	}
	return path, nil
}
