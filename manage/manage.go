package manage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/regcred/regcred/internal/oneline"
	"github.com/regcred/regcred/store"
)

// Env is what the management commands need from their process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	LookPath       func(string) (string, error)
	// OpenStore opens the credential store.
	OpenStore func() (*store.Store, error)
	// Keyring is the keyring doctor probes.
	Keyring store.OSKeyring
	// StateDir is regcred's own directory (where the index lives).
	StateDir string
}

// commands are the management commands, with their one-line help.
var commands = map[string]string{
	"configure":  "wire docker, podman/buildah/skopeo and helm to regcred (--tools to choose); --undo reverts",
	"import":     "move plaintext credentials from every client file into the keyring, or --from-config PATH, --from-helper NAME",
	"doctor":     "check the set-up, one line per check; --fix repairs the index",
	"ls":         "list stored registries and usernames (never secrets)",
	"completion": "print a shell completion script: bash, zsh or fish",
}

// IsCommand reports whether name is a management command.
func IsCommand(name string) bool {
	_, ok := commands[name]
	return ok
}

// Help describes the management commands, for --help.
func Help() string {
	names := sortedKeys(commands)
	var b strings.Builder
	b.WriteString("Management commands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-11s %s\n", n, commands[n])
	}
	return b.String()
}

// errUsage marks a flag error already reported by the flag package.
var errUsage = errors.New("usage")

// runner carries one command's environment.
type runner struct {
	ctx      context.Context
	stdout   io.Writer
	stderr   io.Writer
	getenv   func(string) string
	lookPath func(string) (string, error)
	open     func() (*store.Store, error)
	keyring  store.OSKeyring
	stateDir string
}

// Run executes a management command and returns the exit code. Output goes
// to stdout, errors to stderr: these are commands for people, not docker.
func Run(ctx context.Context, args []string, env Env) int {
	r := &runner{ctx: ctx, stdout: env.Stdout, stderr: env.Stderr, getenv: env.Getenv,
		lookPath: env.LookPath, open: env.OpenStore, keyring: env.Keyring, stateDir: env.StateDir}
	var err error
	switch args[0] {
	case "configure":
		err = r.configure(args[1:])
	case "import":
		err = r.importCmd(args[1:])
	case "doctor":
		err = r.doctor(args[1:])
	case "ls":
		err = r.ls(args[1:])
	case "completion":
		err = r.completion(args[1:])
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	var failed errChecksFailed
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.As(err, &failed):
	default:
		fmt.Fprintf(r.stderr, "docker-credential-regcred %s: %s\n", args[0], oneline.Error(err))
	}
	return 1
}

// ls prints registries and usernames.
func (r *runner) ls(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("ls takes no arguments")
	}
	st, err := r.open()
	if err != nil {
		return err
	}
	list, err := st.List(r.ctx)
	if err != nil {
		return err
	}
	servers := sortedKeys(list)
	w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "REGISTRY\tUSERNAME")
	for _, s := range servers {
		fmt.Fprintf(w, "%s\t%s\n", s, list[s])
	}
	return w.Flush()
}
