// Package plugin is kubectl-regcred's command line: kubectl's own flags
// (k8s.io/cli-runtime ConfigFlags), the export, inspect and verify
// commands, and their output. What is written to clusters is package kube's.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/regcred/regcred/internal/oneline"
	"github.com/regcred/regcred/internal/version"
	"github.com/regcred/regcred/kube"
	"github.com/regcred/regcred/store"
)

// Name is the plugin's binary name; kubectl finds it as `kubectl regcred`.
const Name = "kubectl-regcred"

// DefaultRequestTimeout bounds each API request unless --request-timeout
// says otherwise. kubectl's default is no bound; a plugin that writes to
// several clusters in one run should not hang on one of them.
const DefaultRequestTimeout = "30s"

// Env is what the plugin needs from its process.
type Env struct {
	Stdout, Stderr io.Writer
	// OpenStore opens the keyring store (docker-credential-regcred's).
	OpenStore func() (*store.Store, error)
	// AfterTarget, when set, is called after each export target with the
	// number done; fault tests use it to stop a cluster mid-export.
	AfterTarget func(done int)
	// BeforeWrite, when set, is called by export and delete after they
	// read an existing Secret and before they write or delete it
	// (kube.WriteOptions.BeforeWrite, kube.DeleteOptions.BeforeWrite).
	BeforeWrite func()
	// Client, when set, is the clientset for a kubeconfig context ("" the
	// current one), in place of one the kubeconfig and flags describe:
	// client-go's fake clientset, for tests that run in-process.
	Client func(context string) (kubernetes.Interface, error)
}

// Run executes the plugin with args (without the program name) and
// returns the exit code.
// verify follows kubectl diff: 0 in sync, 1 drift, 2 could not check.
func Run(ctx context.Context, args []string, env Env) int {
	cmd, o := newCommand(env)
	cmd.SetArgs(args)
	ran, err := cmd.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	if errors.As(err, new(errDrift)) {
		return 1
	}
	fmt.Fprintf(env.Stderr, "error: %s\n", oneline.Error(o.explain(err)))
	if ran != nil && ran.Name() == "verify" {
		return 2
	}
	return 1
}

// options holds the flags shared by every command.
type options struct {
	env        Env
	config     *genericclioptions.ConfigFlags
	contexts   []string
	namespaces []string
	name       string
	clients    *clients
	bulk       bool // a command that writes many namespaces (see client)
	// from is where credentials come from: fromDocker or fromKeyring.
	from          string
	helperTimeout time.Duration
}

// NewCommand builds the command tree.
func NewCommand(env Env) *cobra.Command {
	cmd, _ := newCommand(env)
	return cmd
}

func newCommand(env Env) (*cobra.Command, *options) {
	o := &options{env: env, clients: &clients{}}
	root := &cobra.Command{
		Use:         Name,
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl regcred"},
		Short:       "Deliver keyring registry credentials to clusters as image pull Secrets",
		Long:        "kubectl regcred reads the registry credentials docker would send — from docker-credential-regcred's\nOS keyring or any store or helper docker's config names — and writes them to clusters as\nkubernetes.io/dockerconfigjson Secrets, never through disk or argv.",
		Example: `  # Log in with docker (the password goes to the keyring), then create the pull Secret
  docker login registry.example.com
  kubectl regcred export -n my-namespace --service-account default

  # See what the Secret holds, and whether it still matches the keyring
  kubectl regcred inspect -n my-namespace`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	// kubectl's connection flags, except --context and --namespace, which
	// this plugin takes more than once.
	o.config = genericclioptions.NewConfigFlags(true)
	o.config.Context, o.config.Namespace = nil, nil
	timeout := DefaultRequestTimeout
	o.config.Timeout = &timeout
	pf := root.PersistentFlags()
	o.config.AddFlags(pf)
	// Like kubectl, take them everywhere but list them only under `options`.
	pf.VisitAll(func(f *pflag.Flag) { f.Hidden = true })
	pf.StringSliceVar(&o.contexts, "context", nil, "kubeconfig context to use; repeat (or separate with commas) to write to several clusters")
	pf.StringSliceVarP(&o.namespaces, "namespace", "n", nil, "namespace; repeat (or separate with commas) for several (default: the context's namespace)")
	pf.StringVar(&o.name, "name", kube.DefaultSecretName, "name of the Secret")
	pf.StringVar(&o.from, "from", fromDocker, `where credentials come from: "docker" (as docker would send them: its credHelpers, credsStore or config.json auths) or "keyring" (regcred's keyring only)`)
	pf.DurationVar(&o.helperTimeout, "helper-timeout", DefaultHelperTimeout, "bound on each call of another credential helper docker's config names")
	root.AddCommand(newExportCommand(o), newDeleteCommand(o), newInspectCommand(o), newVerifyCommand(o), newOptionsCommand(root), newVersionCommand(root))
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = "  # Complete kubectl regcred in the current bash\n  source <(kubectl regcred completion bash)"
		}
	}
	root.SetUsageTemplate(root.UsageTemplate() + "\nUse \"kubectl regcred options\" for a list of global command-line options (applies to all commands).\n")
	return root, o
}

// newVersionCommand prints what --version prints, as kubectl version does
// for kubectl.
func newVersionCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "kubectl regcred version %s\n", root.Version)
			return err
		},
	}
}

// newOptionsCommand lists the connection flags, as `kubectl options` does.
func newOptionsCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "options",
		Short: "Print the list of flags inherited by all commands",
		Example: `  # Print flags inherited by all commands
  kubectl regcred options`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := pflag.NewFlagSet("options", pflag.ContinueOnError)
			root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
				g := *f
				g.Hidden = false
				fs.AddFlag(&g)
			})
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "The following options can be passed to any command:\n\n%s", fs.FlagUsages())
			return err
		},
	}
}
