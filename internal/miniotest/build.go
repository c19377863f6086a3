package miniotest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sunomi/sunomi/internal/testkit"
)

// Version is the pinned MinIO server module version: the newest commit of
// github.com/minio/minio the module proxy knows (2026-02-12), whose module builds with Go 1.26
// (it asks for go 1.24 and has no replace directives, so `go install …@version` works).
const Version = "v0.0.0-20260212201848-7aac2a2c5b7c"

// Module is what gets installed.
const Module = "github.com/minio/minio"

// BuildTimeout bounds the one-time build: about 3 to 8 minutes on a cold cache.
const BuildTimeout = 30 * time.Minute

// buildOutputTail is how much of a failed build's output its error quotes.
const buildOutputTail = 4 << 10

// CacheDir returns the directory that keeps built tools across test runs, outside the repo:
// $SUNOMI_CACHE, else $XDG_CACHE_HOME/sunomi, else ~/.cache/sunomi.
func CacheDir() (string, error) {
	if d := os.Getenv("SUNOMI_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir() // $XDG_CACHE_HOME, else ~/.cache
	if err != nil {
		return "", fmt.Errorf("no cache directory (set SUNOMI_CACHE): %w", err)
	}
	return filepath.Join(d, "sunomi"), nil
}

// binMu serialises builds inside one process; the file lock serialises them across the
// processes `go test ./...` runs in parallel.
var binMu sync.Mutex

// Binary returns the path of the pinned MinIO server, building it with `go install` on first
// use and reusing it afterwards. logf receives the build's progress line by line.
func Binary(ctx context.Context, logf func(format string, args ...any)) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	root := filepath.Join(cache, "minio")
	bin := filepath.Join(root, Version, "minio")
	if usable(bin) {
		return bin, nil
	}

	binMu.Lock()
	defer binMu.Unlock()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("minio cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(root, Version+".lock"), func() {
		logf("miniotest: waiting for another process building minio %s (lock %s)", Version, filepath.Join(root, Version+".lock"))
	})
	if err != nil {
		return "", fmt.Errorf("minio build lock: %w", err)
	}
	defer unlock()
	if usable(bin) { // built by whoever held the lock before us
		return bin, nil
	}
	if err := build(ctx, root, bin, logf); err != nil {
		return "", err
	}
	return bin, nil
}

func usable(bin string) bool {
	fi, err := os.Stat(bin)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// build installs MinIO into a scratch GOBIN and renames the result into place, so bin exists
// only once complete. The caller holds the lock.
func build(ctx context.Context, root, bin string, logf func(string, ...any)) error {
	// Scratch directories left by an interrupted build are ours to remove: we hold the lock.
	if old, _ := filepath.Glob(filepath.Join(root, "build-*")); len(old) > 0 {
		for _, d := range old {
			_ = os.RemoveAll(d)
		}
	}
	scratch, err := os.MkdirTemp(root, "build-")
	if err != nil {
		return fmt.Errorf("minio build: %w", err)
	}
	defer os.RemoveAll(scratch)

	goBin, err := goCommand()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, BuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "install", "-v", Module+"@"+Version)
	cmd.Dir = scratch // outside any module, so the repo's go.mod plays no part
	cmd.Env = append(os.Environ(),
		"GOBIN="+scratch,
		"GOFLAGS=-mod=mod",
		"GOTOOLCHAIN=local",
		"CGO_ENABLED=0",
	)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("minio build: %w", err)
	}
	cmd.Stderr = cmd.Stdout // one stream, in order

	logf("miniotest: building minio %s into %s (first run only; several minutes)", Version, filepath.Dir(bin))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("minio build: start %s: %w", goBin, err)
	}
	var output strings.Builder
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		output.WriteString(line + "\n")
		n++
		// -v names every package as it compiles: plenty of progress without flooding the log.
		logf("miniotest: [build %s] %s", time.Since(start).Round(time.Second), line)
	}
	_, _ = io.Copy(io.Discard, out)
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("minio build: gave up after %s (%w); last output:\n%s", time.Since(start).Round(time.Second), ctx.Err(), testkit.Tail(output.String(), buildOutputTail))
	}
	if waitErr != nil {
		return fmt.Errorf("minio build: go install %s@%s: %w; last output:\n%s", Module, Version, waitErr, testkit.Tail(output.String(), buildOutputTail))
	}
	built := filepath.Join(scratch, "minio")
	if !usable(built) {
		return fmt.Errorf("minio build: go install succeeded but left no binary at %s", built)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return fmt.Errorf("minio build: %w", err)
	}
	if err := os.Rename(built, bin); err != nil {
		return fmt.Errorf("minio build: %w", err)
	}
	logf("miniotest: built minio %s in %s (%d packages compiled)", Version, time.Since(start).Round(time.Second), n)
	return nil
}

// goCommand finds the go tool the tests run under.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); usable(p) {
			return p, nil
		}
	}
	return "", errors.New("minio build: no go command on PATH or in $GOROOT/bin")
}
