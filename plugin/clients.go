package plugin

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// clientCache is the command's one clientset per context.
func (o *options) clientCache() *clients { return o.clients }

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

// clients caches one clientset per context.
type clients struct {
	mu sync.Mutex
	m  map[string]kubernetes.Interface
}

func (cs *clients) get(o *options, context string) (kubernetes.Interface, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.m[context]; ok {
		return c, nil
	}
	c, err := o.client(context)
	if err != nil {
		return nil, err
	}
	if cs.m == nil {
		cs.m = map[string]kubernetes.Interface{}
	}
	cs.m[context] = c
	return c, nil
}

// checkKubeconfig refuses, with the files it looked at, to fall back to
// client-go's default of http://localhost:8080 when no kubeconfig names a
// cluster, no --server was given and this is not a Pod (whose in-cluster
// config client-go uses then).
func (o *options) checkKubeconfig(context string) error {
	if o.config.APIServer != nil && *o.config.APIServer != "" {
		return nil
	}
	if _, err := rest.InClusterConfig(); err == nil {
		return nil
	}
	loader := o.flagsFor(context).ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if len(raw.Clusters) > 0 {
		return nil
	}
	return fmt.Errorf("no cluster to talk to: no kubeconfig names one (looked in %s); pass --kubeconfig FILE or set KUBECONFIG", o.kubeconfigFiles(context))
}

// kubeconfigFiles names the kubeconfig files the commands read, for messages.
func (o *options) kubeconfigFiles(context string) string {
	if o.config.KubeConfig != nil && *o.config.KubeConfig != "" {
		return *o.config.KubeConfig
	}
	files := o.flagsFor(context).ToRawKubeConfigLoader().ConfigAccess().GetLoadingPrecedence()
	if len(files) == 0 {
		return "no file"
	}
	if env := os.Getenv("KUBECONFIG"); env != "" {
		return strings.Join(files, ", ") + " (from KUBECONFIG)"
	}
	return strings.Join(files, ", ")
}

// Client-side rate limit, kept unless the API server protects itself.
const (
	limitQPS   = 50
	limitBurst = 100
	// MaxParallel caps --parallel: enough to hide the round trips of a
	// few hundred namespaces, few enough for one person's command.
	MaxParallel = 32
)
