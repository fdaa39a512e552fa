// Command docker-credential-regcred is a Docker credential helper that keeps
// registry credentials in the OS keyring. Point docker at it with
// {"credsStore": "regcred"} in ~/.docker/config.json.
package main

import (
	"context"
	"os"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/helper"
	"github.com/regcred/regcred/internal/version"
	"github.com/regcred/regcred/store"
)

func main() {
	// The credentials package prints `version` from these (upstream sets them with -ldflags).
	credentials.Name, credentials.Package, credentials.Version = helper.Name, version.Module, version.String()
	open := func() (*store.Store, error) {
		cfg, err := store.ConfigFromEnv(os.Getenv)
		if err != nil {
			return nil, err
		}
		return store.New(cfg)
	}
	os.Exit(helper.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, open))
}
