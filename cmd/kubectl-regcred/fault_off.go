//go:build !regcredfault

package main

// afterTarget is nil in real builds: no fault points.
func afterTarget() func(done int) { return nil }

// beforeDelete is nil in real builds: no fault points.
func beforeDelete() func() { return nil }
