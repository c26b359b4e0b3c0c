//go:build !linux

package main

import "syscall"

// childAttributes: elsewhere children stay in the demo's process group and
// get the terminal's Ctrl-C themselves.
func childAttributes() *syscall.SysProcAttr { return nil }
