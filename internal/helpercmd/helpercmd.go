// Package helpercmd is the docker-credential-regcred command: it routes a
// protocol verb to package helper, a management command to package manage,
// and help to both, opening the store on the keyring package backend
// chooses only when a command needs it (version never does).
package helpercmd

import (
	"sync"

	"context"
	"fmt"
	"io"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/internal/version"

	"github.com/regcred/regcred/helper"
	"github.com/regcred/regcred/manage"
	"github.com/regcred/regcred/store"
)

// Env is what the command needs from its process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	LookPath       func(string) (string, error)
	// Fault, in crash-test builds only, is called before each keyring write.
	Fault func(step string)
}

// nameOnce names this helper to the credentials package, which prints
// `version` from its variables (upstream sets them with -ldflags).
var nameOnce sync.Once

// Run executes the command with args (without the program name) and
// returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	nameOnce.Do(func() {
		credentials.Name, credentials.Package, credentials.Version = helper.Name, version.Module, version.String()
	})
	senv := store.Env{Getenv: env.Getenv, Fault: env.Fault}
	menv := manage.Env{Stdout: env.Stdout, Stderr: env.Stderr, Getenv: env.Getenv, LookPath: env.LookPath,
		Open: func() (store.Opened, error) { return store.Open(ctx, senv) }}
	switch {
	case len(args) > 0 && manage.IsCommand(args[0]):
		return manage.Run(ctx, args, menv)
	case len(args) == 2 && args[0] == "help" && manage.IsCommand(args[1]):
		return manage.Run(ctx, []string{args[1], "--help"}, menv)
	case len(args) == 1 && (args[0] == "help" || args[0] == "--help" || args[0] == "-h"):
		fmt.Fprintf(env.Stdout, "%s\n\n%s", helper.Usage(), manage.Help())
		return 0
	}
	return helper.Run(ctx, args, env.Stdin, env.Stdout, env.Stderr, senv.OpenStore)
}
