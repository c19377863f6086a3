package postgres

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// processState tells a postmaster in dataDir from another process by its working directory:
// the postmaster chdirs into its data directory at start and stays there.
func processState(pid int, dataDir string) pidState {
	cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
	switch {
	case err == nil:
		if dir, err := filepath.EvalSymlinks(dataDir); err == nil && cwd == dir {
			return pidRunning
		}
		return pidOther
	case errors.Is(err, fs.ErrNotExist): // no such process, or a zombie, which has no directory
		return pidGone
	default: // another user's process: we cannot see where it runs
		return signalState(pid)
	}
}

// sysProcAttr puts the server in its own process group, so a Ctrl-C at the terminal reaches
// only the parent, which then stops the server in its own time; asks the kernel to send it a
// fast-shutdown SIGINT if the parent dies without stopping it (a panic, a -timeout kill), so no
// server outlives its owner; and runs it as u. Pdeathsig follows the thread that started the
// child, which the Go runtime keeps unless a goroutine locked to it exits: best effort.
func sysProcAttr(u *osUser) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT, Credential: u.credential()}
}
