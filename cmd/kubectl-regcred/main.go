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
	open := func() (*store.Store, error) {
		cfg, err := store.ConfigFromEnv(os.Getenv)
		if err != nil {
			return nil, err
		}
		return store.New(cfg)
	}
	os.Exit(plugin.Run(context.Background(), os.Args[1:], plugin.Env{Stdout: os.Stdout, Stderr: os.Stderr, OpenStore: open, AfterTarget: afterTarget()}))
}
