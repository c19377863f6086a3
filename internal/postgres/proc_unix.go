//go:build unix

package postgres

import (
	"errors"
	"syscall"
)

// signalState probes pid with signal 0: EPERM still means the process exists.
func signalState(pid int) pidState {
	if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
		return pidRunning
	}
	return pidGone
}
