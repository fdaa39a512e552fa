// Command podapp is the tiny static program the node tests run in Pods: the
// private image's entrypoint (it prints Marker, so a test can see it ran)
// and the sandbox ("pause") image's. It waits for SIGTERM.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	fmt.Println("regcred podapp running:", os.Args[1:])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
