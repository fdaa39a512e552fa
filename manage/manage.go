package manage

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
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
	// Open opens the store on the keyring package backend chooses.
	Open func() (store.Opened, error)
}

// A command is one management command's help.
type command struct {
	args     string // what follows the command name in its usage line
	short    string // one line, for the command list
	long     string // what --help adds, or ""
	examples string // kubectl-style: indented, each after a # comment
}

// commands are the management commands.
var commands = map[string]command{
	"configure": {
		args:  "[--tools docker,containers,helm] [--registries REG,...] [--backend KEYRING [--no-move]] [--undo]",
		short: "choose the keyring and wire docker, podman/buildah/skopeo and helm to it; --undo reverts",
		long: "Each client is wired in its own convention, keeping everything else in its files: docker's\n" +
			"config.json gets \"credsStore\": \"regcred\" (crane, oras and buildx read it too), podman, buildah\n" +
			"and skopeo a registries.conf drop-in, helm its registry config. Without --tools: docker, and\n" +
			"every other client installed.\n\n" +
			"It also records which keyring credentials are kept in. On Linux: a Secret Service where one\n" +
			"answers, otherwise the kernel keyring, unless --backend names one; switching moves every\n" +
			"credential across (each copied and read back before it is erased from the old keyring).",
		examples: `  # Wire every installed client
  docker-credential-regcred configure

  # Only helm
  docker-credential-regcred configure --tools helm

  # Keep docker's credsStore; use regcred for two registries only
  docker-credential-regcred configure --registries ghcr.io,registry.example.com

  # Keep credentials in the kernel keyring (no desktop needed), moving those already stored
  docker-credential-regcred configure --backend kernel

  # Put everything back
  docker-credential-regcred configure --undo`,
	},
	"import": {
		args:  "[--from-config PATH | --from-helper NAME] [--keep]",
		short: "move plaintext credentials from every client's files (or another helper) into the keyring",
		long: "Without a source, every file a known client writes is read: docker's config.json and\n" +
			"~/.dockercfg, the containers tools' auth.json files, helm's registry config. Each moved\n" +
			"credential is scrubbed from its file once the keyring holds it.",
		examples: `  # Move every plaintext credential into the keyring
  docker-credential-regcred import

  # One file, in any of those formats, leaving it as it is
  docker-credential-regcred import --from-config ~/old/config.json --keep

  # Copy what another credential helper holds
  docker-credential-regcred import --from-helper secretservice`,
	},
	"doctor": {
		args:  "[--fix]",
		short: "check the set-up, one line per check, each failure with its fix",
		examples: `  # Check the helper, the clients and the keyring
  docker-credential-regcred doctor

  # Tidy the keyring after a crash, an upgrade or an edit by hand
  docker-credential-regcred doctor --fix`,
	},
	"ls": {
		short: "list stored registries and usernames (never secrets), and the keyring they are in",
		examples: `  # What the keyring holds
  docker-credential-regcred ls`,
	},
	"completion": {
		args:  "bash|zsh|fish",
		short: "print a shell completion script",
		examples: `  # Complete in the current bash
  source <(docker-credential-regcred completion bash)`,
	},
}

// IsCommand reports whether name is a management command.
func IsCommand(name string) bool {
	_, ok := commands[name]
	return ok
}

// Help is the binary's help: what it is, the protocol, the commands.
func Help() string {
	var b strings.Builder
	b.WriteString(`docker-credential-regcred keeps container-registry credentials in the OS keyring. Docker and
other clients call it as a credential helper ("credsStore": "regcred"); you run its management
commands.

Protocol (docker calls these; they read stdin and answer on stdout):
  store, get, erase, list, version

Management commands:
`)
	for _, n := range sortedKeys(commands) {
		fmt.Fprintf(&b, "  %-11s %s\n", n, commands[n].short)
	}
	b.WriteString(`
Examples:
  # Wire every installed client, then log in: the password goes to the keyring
  docker-credential-regcred configure
  docker login registry.example.com

  # Check that it all works
  docker-credential-regcred doctor

Use "docker-credential-regcred <command> --help" for more about a command.
`)
	return b.String()
}

// commandHelp is one command's --help.
func commandHelp(name string, fs *flag.FlagSet) string {
	c := commands[name]
	var b strings.Builder
	fmt.Fprintf(&b, "%s.\n", strings.ToUpper(c.short[:1])+c.short[1:])
	if c.long != "" {
		fmt.Fprintf(&b, "\n%s\n", c.long)
	}
	fmt.Fprintf(&b, "\nExamples:\n%s\n", c.examples)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			b.WriteString("\nOptions:\n")
			first = false
		}
		value, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "    --%s", f.Name)
		if value != "" {
			fmt.Fprintf(&b, " %s", strings.ToUpper(value))
		}
		fmt.Fprintf(&b, ":\n\t%s\n", usage)
	})
	fmt.Fprintf(&b, "\nUsage:\n  %s\n", strings.TrimSpace("docker-credential-regcred "+name+" "+c.args))
	return b.String()
}

// errHelp is returned after --help was printed: exit 0.
var errHelp = errors.New("help shown")

// flags is a command's flag set, printing nothing itself.
func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses a command's flags: -h/--help prints its help, and a bad
// flag is one line naming where help is.
func (r *runner) parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(r.stdout, commandHelp(fs.Name(), fs))
		return errHelp
	default:
		return fmt.Errorf("%v (see `docker-credential-regcred %s --help`)", err, fs.Name())
	}
}

// runner carries one command's environment.
type runner struct {
	ctx         context.Context
	stdout      io.Writer
	stderr      io.Writer
	getenv      func(string) string
	lookPath    func(string) (string, error)
	openKeyring func() (store.Opened, error)
	stateDir    string
}

// open opens the store on the chosen keyring.
func (r *runner) open() (*store.Store, error) {
	o, err := r.openKeyring()
	return o.Store, err
}

// Run executes a management command and returns the exit code. Output goes
// to stdout, errors to stderr: these are commands for people, not docker.
func Run(ctx context.Context, args []string, env Env) int {
	r := &runner{ctx: ctx, stdout: env.Stdout, stderr: env.Stderr, getenv: env.Getenv,
		lookPath: env.LookPath, openKeyring: env.Open}
	if env.Getenv != nil {
		if path, err := store.ChoicePath(env.Getenv); err == nil {
			r.stateDir = filepath.Dir(path)
		}
	}
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
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &failed):
	default:
		fmt.Fprintf(r.stderr, "docker-credential-regcred %s: %s\n", args[0], oneline.Error(err))
	}
	return 1
}

// ls prints registries and usernames.
func (r *runner) ls(args []string) error {
	fs := flags("ls")
	if err := r.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("ls takes no arguments (got %q)", fs.Arg(0))
	}
	o, err := r.openKeyring()
	if err != nil {
		return err
	}
	list, err := o.Store.List(r.ctx)
	if err != nil {
		return err
	}
	servers := sortedKeys(list)
	fmt.Fprintf(r.stdout, "keyring: %s (%s)\n\n", o.Keyring.Name(), o.Choice.Why)
	w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "REGISTRY\tUSERNAME")
	for _, s := range servers {
		fmt.Fprintf(w, "%s\t%s\n", s, list[s])
	}
	return w.Flush()
}
