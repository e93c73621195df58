//go:build !linux

package databench

import "syscall"

// sysProcAttr: outside Linux there is no parent-death signal; stop (run
// from deferred calls and the signal handler) ends the servers.
func sysProcAttr() *syscall.SysProcAttr { return nil }
