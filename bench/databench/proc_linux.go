package databench

import "syscall"

// sysProcAttr kills a server when the harness's process dies, however it
// dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
