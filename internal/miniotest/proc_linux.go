package miniotest

import "syscall"

// sysProcAttr makes the kernel kill the server if the test binary dies without cleaning up
// (a panic, a -timeout kill), so no stray MinIO outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
