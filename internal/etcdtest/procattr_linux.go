package etcdtest

import "syscall"

// procAttr makes the kernel kill a member if the test process dies
// without cleaning up (a timeout's panic, a kill).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
