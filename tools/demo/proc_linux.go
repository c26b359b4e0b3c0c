package main

import "syscall"

// childAttributes puts a child in its own process group, so that Ctrl-C
// reaches only the demo, which then stops the children in order, and has
// the kernel stop the child if the demo dies without doing so.
func childAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
