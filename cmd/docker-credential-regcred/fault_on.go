//go:build regcredfault

package main

import (
	"os"
	"strconv"
	"syscall"
)

// faultHook, in test builds only (-tags regcredfault), kills this process
// with SIGKILL just before write number REGCRED_FAULT_AT, so crash tests
// can stop a store or erase at every step exactly as a kill -9 would.
func faultHook() func(string) {
	n, err := strconv.Atoi(os.Getenv("REGCRED_FAULT_AT"))
	if err != nil || n < 1 {
		return nil
	}
	count := 0
	return func(string) {
		if count++; count == n {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}
