//go:build unix && !linux

package postgres

import "syscall"

// processState cannot see where another process runs without /proc, so any live process
// counts as the server: a false alarm asks the user to remove the file, a miss would let two
// servers share a data directory.
func processState(pid int, _ string) pidState { return signalState(pid) }

// sysProcAttr puts the server in its own process group, so a Ctrl-C at the terminal reaches
// only the parent, which then stops the server in its own time, and runs it as u.
func sysProcAttr(u *osUser) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: u.credential()}
}
