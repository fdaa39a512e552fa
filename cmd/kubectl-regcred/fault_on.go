//go:build regcredfault

package main

import (
	"os"
	"strconv"
	"sync"
	"time"
)

// afterTarget, in test builds only (-tags regcredfault), pauses export after
// REGCRED_FAULT_PAUSE_AFTER targets: it creates REGCRED_FAULT_PAUSE_FILE and
// waits until the test removes it (having, say, stopped the API server).
func afterTarget() func(done int) {
	n, err := strconv.Atoi(os.Getenv("REGCRED_FAULT_PAUSE_AFTER"))
	file := os.Getenv("REGCRED_FAULT_PAUSE_FILE")
	if err != nil || file == "" {
		return nil
	}
	return func(done int) {
		if done != n {
			return
		}
		_ = os.WriteFile(file, nil, 0o600)
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(file); err != nil {
				return
			}
		}
	}
}

// beforeWrite, in test builds only, pauses export or delete once, after it
// read a Secret and before it writes or deletes it, when
// REGCRED_FAULT_PAUSE_BEFORE_WRITE names a file: it creates the file and
// waits until the test removes it (having, say, exported into the Secret).
func beforeWrite() func() {
	file := os.Getenv("REGCRED_FAULT_PAUSE_BEFORE_WRITE")
	if file == "" {
		return nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = os.WriteFile(file, nil, 0o600)
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if _, err := os.Stat(file); err != nil {
					return
				}
			}
		})
	}
}
