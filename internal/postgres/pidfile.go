package postgres

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrAlreadyRunning means a live server already uses the data directory Start was given.
var ErrAlreadyRunning = errors.New("another PostgreSQL server is already running on this data directory")

// pidState is what became of the process a postmaster.pid names.
type pidState int

const (
	pidGone    pidState = iota // no such process: the file is stale
	pidRunning                 // a postmaster in this data directory, or one we cannot rule out
	pidOther                   // a live process elsewhere: the pid was reused after a crash
)

// checkPIDFile looks at the postmaster.pid a previous server may have left in dataDir.
//
// PostgreSQL handles a stale file itself when its process is dead: it also checks, with the
// shared memory key the file records, that no orphaned backend still uses the old cluster, so
// we leave that case to it. What it cannot handle is a pid that another process of the same
// user now has — common in containers, where pids restart from 1 — which it takes for a
// running server; we remove the file then, having checked on Linux that the process does not
// run in dataDir.
func checkPIDFile(dataDir string, logger *slog.Logger) error {
	path := filepath.Join(dataDir, "postmaster.pid")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		// An empty or torn file from a start that crashed; PostgreSQL would refuse to start.
		logger.Warn("removing unreadable postmaster.pid", "path", path)
		return removePIDFile(path)
	}
	switch processState(pid, dataDir) {
	case pidRunning:
		return fmt.Errorf("%w: pid %d, per %s (if no such server runs, remove that file)", ErrAlreadyRunning, pid, path)
	case pidOther:
		logger.Warn("removing stale postmaster.pid whose pid another process now has", "path", path, "pid", pid)
		return removePIDFile(path)
	}
	return nil
}

func removePIDFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", path, err)
	}
	return nil
}
