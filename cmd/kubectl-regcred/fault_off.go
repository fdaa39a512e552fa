//go:build !regcredfault

package main

// afterTarget is nil in real builds: no fault points.
func afterTarget() func(done int) { return nil }

// beforeWrite is nil in real builds: no fault points.
func beforeWrite() func() { return nil }
