// Command kubectl-regcred is a kubectl plugin (`kubectl regcred`) that
// writes the registry credentials docker-credential-regcred keeps in the OS
// keyring to clusters as kubernetes.io/dockerconfigjson Secrets.
package main

import (
	"context"
	"os"

	"github.com/regcred/regcred/plugin"
	"github.com/regcred/regcred/store"
)

func main() {
	ctx := context.Background()
	open := func() (*store.Store, error) {
		o, err := store.Open(ctx, store.Env{Getenv: os.Getenv})
		return o.Store, err
	}
	os.Exit(plugin.Run(ctx, os.Args[1:], plugin.Env{Stdout: os.Stdout, Stderr: os.Stderr, OpenStore: open, AfterTarget: afterTarget(), BeforeWrite: beforeWrite()}))
}
