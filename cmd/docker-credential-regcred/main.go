// Command docker-credential-regcred is a Docker credential helper that keeps
// registry credentials in the OS keyring. Point docker at it with
// {"credsStore": "regcred"} in ~/.docker/config.json (or run its configure
// command). It also carries the local management commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/helper"
	"github.com/regcred/regcred/internal/version"
	"github.com/regcred/regcred/manage"
	"github.com/regcred/regcred/store"
)

func main() {
	// The credentials package prints `version` from these (upstream sets them with -ldflags).
	credentials.Name, credentials.Package, credentials.Version = helper.Name, version.Module, version.String()
	ctx := context.Background()
	cfg, cfgErr := store.ConfigFromEnv(os.Getenv)
	cfg.Fault = faultHook()
	open := func() (*store.Store, error) {
		if cfgErr != nil {
			return nil, cfgErr
		}
		return store.New(cfg)
	}
	args := os.Args[1:]
	switch {
	case len(args) > 0 && manage.IsCommand(args[0]):
		dir, _ := os.UserConfigDir()
		keyring, _ := cfg.Keyring.(store.OSKeyring)
		os.Exit(manage.Run(ctx, args, manage.Env{
			Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, LookPath: exec.LookPath,
			OpenStore: open, Keyring: keyring, StateDir: filepath.Join(dir, "regcred"),
		}))
	case len(args) == 2 && args[0] == "help" && manage.IsCommand(args[1]):
		args = []string{args[1], "--help"}
		os.Exit(manage.Run(ctx, args, manage.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
	case len(args) == 1 && (args[0] == "help" || args[0] == "--help" || args[0] == "-h"):
		fmt.Fprintf(os.Stdout, "%s\n\n%s", helper.Usage(), manage.Help())
		os.Exit(0)
	}
	os.Exit(helper.Run(ctx, args, os.Stdin, os.Stdout, open))
}
