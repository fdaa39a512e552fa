// Command docker-credential-regcred is a Docker credential helper that keeps
// registry credentials in the OS keyring. Point docker at it with
// {"credsStore": "regcred"} in ~/.docker/config.json (or run its configure
// command). It also carries the local management commands.
package main

import (
	"context"
	"os"
	"os/exec"

	"github.com/regcred/regcred/internal/helpercmd"
)

func main() {
	os.Exit(helpercmd.Run(context.Background(), os.Args[1:], helpercmd.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, LookPath: exec.LookPath, Fault: faultHook(),
	}))
}
