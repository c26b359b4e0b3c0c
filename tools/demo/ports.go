package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// claimAddress checks that a program of the demo can listen on addr, and
// returns addr with the port the system chose when addr's port is 0. A
// busy port is an error that names the flag to choose another with.
func claimAddress(what, flagName, addr string) (string, error) {
	ln, err := listen(what, flagName, addr)
	if err != nil {
		return "", err
	}
	chosen := ln.Addr().String()
	_ = ln.Close() // the program it is for listens on it next
	return chosen, nil
}

func listen(what, flagName, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("%s cannot listen on %s: the port is in use (an earlier demo still running, or another program); "+
			"choose another with -%s=127.0.0.1:PORT, or -%s=127.0.0.1:0 for any free port (make demo DEMO_FLAGS=...)", what, addr, flagName, flagName)
	case err != nil:
		return nil, fmt.Errorf("%s cannot listen on %s (-%s): %w", what, addr, flagName, err)
	}
	return ln, nil
}
