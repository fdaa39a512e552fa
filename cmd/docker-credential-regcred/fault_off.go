//go:build !regcredfault

package main

// faultHook is nil in real builds: no fault points.
func faultHook() func(string) { return nil }
