// Package plugin is kubectl-regcred's command line: kubectl's own flags
// (k8s.io/cli-runtime ConfigFlags), the export, inspect and verify
// commands, and their output. What is written to clusters is package kube's.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

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
}

// clientCache is the command's one clientset per context.
func (o *options) clientCache() *clients { return o.clients }

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
		Long:        "kubectl regcred reads the registry credentials docker-credential-regcred keeps in the OS keyring and\nwrites them to clusters as kubernetes.io/dockerconfigjson Secrets, never through disk or argv.",
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

// target is one cluster namespace to write to.
type target struct {
	context   string // "" is the kubeconfig's current context
	namespace string
}

func (t target) String() string {
	ctx := t.context
	if ctx == "" {
		ctx = "current context"
	}
	return fmt.Sprintf("[%s] namespace %s", ctx, t.namespace)
}

// flagsFor returns connection flags for one context, copying every
// connection flag the user gave.
func (o *options) flagsFor(context string) *genericclioptions.ConfigFlags {
	b := o.config
	f := genericclioptions.NewConfigFlags(true)
	f.KubeConfig, f.ClusterName, f.AuthInfoName = b.KubeConfig, b.ClusterName, b.AuthInfoName
	f.APIServer, f.TLSServerName, f.Insecure = b.APIServer, b.TLSServerName, b.Insecure
	f.CertFile, f.KeyFile, f.CAFile, f.BearerToken = b.CertFile, b.KeyFile, b.CAFile, b.BearerToken
	f.Impersonate, f.ImpersonateUID, f.ImpersonateGroup = b.Impersonate, b.ImpersonateUID, b.ImpersonateGroup
	f.Username, f.Password, f.Timeout, f.DisableCompression = b.Username, b.Password, b.Timeout, b.DisableCompression
	f.CacheDir = b.CacheDir
	c := context
	f.Context = &c
	return f
}

// targets expands --context × --namespace. It reads kubeconfig files only.
func (o *options) targets() ([]target, error) {
	var out []target
	for _, c := range o.contextList() {
		namespaces := o.namespaces
		if len(namespaces) == 0 {
			ns, _, err := o.flagsFor(c).ToRawKubeConfigLoader().Namespace()
			if err != nil {
				return nil, fmt.Errorf("context %q: %w", c, err)
			}
			namespaces = []string{ns}
		}
		for _, ns := range namespaces {
			out = append(out, target{context: c, namespace: ns})
		}
	}
	return out, nil
}

// contextList is --context, or the kubeconfig's current context ("").
func (o *options) contextList() []string {
	if len(o.contexts) == 0 {
		return []string{""}
	}
	return o.contexts
}

// client returns a clientset for a context. Its client-side rate limit
// (limitQPS) is lifted for a command that writes many namespaces
// (o.bulk) where the API server's priority and fairness governs the user
// (see RateLimitFor): the server then queues and sheds load itself,
// answering 429 with Retry-After, which client-go waits for and retries
// (up to ten times). Parallelism is bounded by --parallel in any case.
func (o *options) client(kctx string) (kubernetes.Interface, error) {
	if o.env.Client != nil {
		return o.env.Client(kctx)
	}
	if err := o.checkKubeconfig(kctx); err != nil {
		return nil, err
	}
	cfg, err := o.flagsFor(kctx).ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = limitQPS, limitBurst
	if o.bulk && RateLimitFor(context.Background(), cfg).Lifted {
		cfg.QPS = -1
	}
	return kubernetes.NewForConfig(cfg)
}

// keyring is the local keyring's view for the plugin: what list shows,
// read once, and get for the secrets.
type keyring struct {
	st   *store.Store
	list map[string]string // server → username
}

func (o *options) openKeyring(ctx context.Context) (*keyring, error) {
	st, err := o.env.OpenStore()
	if err != nil {
		return nil, err
	}
	list, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	return &keyring{st: st, list: list}, nil
}

// lookup is a kube.Lookup on the keyring: the stored registry whose
// Secret key is the one asked about.
func (k *keyring) lookup(ctx context.Context) kube.Lookup {
	return func(server string) (kube.Registry, bool, error) {
		stored, ok := k.resolve(server)
		if !ok {
			return kube.Registry{}, false, nil
		}
		c, err := k.st.Get(ctx, stored)
		if errors.Is(err, store.ErrNotFound) {
			return kube.Registry{}, false, nil
		}
		if err != nil {
			return kube.Registry{}, false, err
		}
		return kube.Registry{Server: c.ServerURL, Username: c.Username, Password: c.Secret}, true, nil
	}
}

// resolve returns the stored address answering query, from the list: the
// one with query's Secret key (the same registry, or the same path scope,
// however spelt).
func (k *keyring) resolve(query string) (string, bool) {
	want := kube.SecretKey(query)
	for _, s := range slices.Sorted(maps.Keys(k.list)) {
		if kube.SecretKey(s) == want {
			return s, true
		}
	}
	return "", false
}

// selectRegistries resolves REGISTRY arguments (or, with none, every
// stored registry) to the usable stored addresses, reporting each skipped
// entry through skip.
func (k *keyring) selectRegistries(args []string, skip func(server, why string)) ([]string, error) {
	var servers []string
	if len(args) == 0 {
		for _, s := range slices.Sorted(maps.Keys(k.list)) {
			if why := kube.Unusable(s, k.list[s]); why != "" {
				skip(s, why)
				continue
			}
			servers = append(servers, s)
		}
		if len(servers) == 0 {
			return nil, errors.New("the keyring holds no credentials the kubelet can use (store some with docker login)")
		}
		return servers, nil
	}
	for _, a := range args {
		s, ok := k.resolve(a)
		if !ok {
			return nil, fmt.Errorf("registry %q is not in the keyring (docker-credential-regcred list shows what is)", a)
		}
		if why := kube.Unusable(s, k.list[s]); why != "" {
			return nil, fmt.Errorf("registry %q cannot go into a pull Secret: it is %s", a, why)
		}
		if !slices.Contains(servers, s) {
			servers = append(servers, s)
		}
	}
	return servers, nil
}
