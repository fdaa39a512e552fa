package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regcred/regcred/internal/oneline"
	"github.com/regcred/regcred/kube"
)

// DefaultParallel bounds how many namespaces a command writes at once.
const DefaultParallel = 16

// targetFlags select the namespaces and ServiceAccounts export and delete
// write to, beyond the shared --context and -n.
type targetFlags struct {
	allNamespaces      bool
	namespaceSelector  string
	exclude            []string
	serviceAccounts    []string
	allServiceAccounts bool
	parallel           int
}

// broad reports whether the namespaces were found, not named: -A or a
// selector.
func (f *targetFlags) broad() bool { return f.allNamespaces || f.namespaceSelector != "" }

func (f *targetFlags) add(fs *pflag.FlagSet, verb string) {
	fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, verb+" every namespace of each context (namespaces being deleted are skipped)")
	fs.StringVar(&f.namespaceSelector, "namespace-selector", "", verb+" every namespace matching this label selector (e.g. team=payments); whoever may label a namespace may add it")
	fs.StringSliceVar(&f.exclude, "exclude", nil, "with -A or --namespace-selector, leave out this namespace; repeatable")
	fs.StringSliceVar(&f.serviceAccounts, "service-account", nil, "ServiceAccount whose imagePullSecrets list the Secret; repeatable")
	fs.BoolVar(&f.allServiceAccounts, "all-service-accounts", false, "every ServiceAccount of each target namespace")
	fs.IntVar(&f.parallel, "parallel", DefaultParallel, "how many namespaces to write at once")
}

// systemNamespaces are the cluster's own: -A and selectors never write a
// personal credential there, where anyone who may read Secrets or start a
// Pod in them could use it.
var systemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// check refuses flags that do not go together, before anything is read.
func (f *targetFlags) check(o *options) error {
	if f.parallel < 1 || f.parallel > MaxParallel {
		return fmt.Errorf("--parallel must be from 1 to %d, not %d", MaxParallel, f.parallel)
	}
	if f.allServiceAccounts && len(f.serviceAccounts) > 0 {
		return errors.New("give --service-account or --all-service-accounts, not both")
	}
	if !f.allNamespaces && f.namespaceSelector == "" && len(f.exclude) > 0 {
		return errors.New("--exclude goes with -A/--all-namespaces or --namespace-selector")
	}
	if (f.allNamespaces || f.namespaceSelector != "") && len(o.namespaces) > 0 {
		return errors.New("-n/--namespace cannot be combined with -A/--all-namespaces or --namespace-selector")
	}
	return nil
}

// resolve expands the targets, listing namespaces for -A and
// --namespace-selector (one request per context), and reports the skipped.
func (f *targetFlags) resolve(ctx context.Context, o *options, skip func(string)) ([]target, error) {
	if err := f.check(o); err != nil {
		return nil, err
	}
	if !f.allNamespaces && f.namespaceSelector == "" {
		return o.targets()
	}
	if f.allNamespaces && f.namespaceSelector != "" {
		return nil, errors.New("give -A/--all-namespaces or --namespace-selector, not both")
	}
	var out []target
	for _, c := range o.contextList() {
		client, err := o.clientCache().get(o, c)
		if err != nil {
			return nil, err
		}
		list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: f.namespaceSelector})
		if err != nil {
			return nil, fmt.Errorf("context %q: %w", c, kube.Explain(err, "list", "namespaces", ""))
		}
		var names []string
		for _, ns := range list.Items {
			t := target{context: c, namespace: ns.Name}
			switch {
			case ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil:
				skip(fmt.Sprintf("%s: terminating", t))
				continue
			case slices.Contains(systemNamespaces, ns.Name):
				skip(fmt.Sprintf("%s: a system namespace (name it with -n to write there)", t))
				continue
			case slices.Contains(f.exclude, ns.Name):
				skip(fmt.Sprintf("%s: excluded", t))
				continue
			}
			names = append(names, ns.Name)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("context %q: no namespace matches %q", c, f.namespaceSelector)
		}
		for _, n := range names {
			out = append(out, target{context: c, namespace: n})
		}
	}
	return out, nil
}

// serviceAccountsIn lists the ServiceAccounts to update in a namespace.
func (f *targetFlags) serviceAccountsIn(ctx context.Context, c kubernetes.Interface, namespace string) ([]string, error) {
	if !f.allServiceAccounts {
		return f.serviceAccounts, nil
	}
	list, err := c.CoreV1().ServiceAccounts(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, kube.Explain(err, "list", "serviceaccounts", namespace)
	}
	names := make([]string, 0, len(list.Items))
	for _, sa := range list.Items {
		names = append(names, sa.Name)
	}
	sort.Strings(names)
	return names, nil
}

// DefaultSAWait bounds how long export waits for the ServiceAccount
// default of a namespace created moments ago: the controller manager adds
// it shortly after the namespace.
const DefaultSAWait = 5 * time.Second

// serviceAccountsToLink is serviceAccountsIn for export: in a namespace
// younger than a minute that has no default yet it waits for it (up to
// DefaultSAWait), and with no ServiceAccount at all it says so rather
// than link nothing and succeed.
func (f *targetFlags) serviceAccountsToLink(ctx context.Context, c kubernetes.Interface, namespace string) ([]string, error) {
	names, err := f.serviceAccountsIn(ctx, c, namespace)
	if err != nil || !f.allServiceAccounts || slices.Contains(names, "default") {
		return names, err
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if err != nil {
		return nil, kube.Explain(err, "get", "namespaces", namespace)
	}
	if time.Since(ns.CreationTimestamp.Time) < time.Minute {
		deadline := time.Now().Add(DefaultSAWait)
		for !slices.Contains(names, "default") && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
			if names, err = f.serviceAccountsIn(ctx, c, namespace); err != nil {
				return nil, err
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("namespace %q has no ServiceAccount to link, not even default (the controller manager creates it with the namespace): create one, or name it with --service-account", namespace)
	}
	return names, nil
}

// targetResult is what one target's work printed and produced.
type targetResult struct {
	lines    []string
	warnings []string // to stderr, each one line
	obj      *corev1.Secret
	err      error
	kept     bool // left alone by design (another tool's Secret): no failure
	trimmed  bool // only the caller's entries were taken out
}

// forEachTarget runs work on every target, at most parallel at a time, and
// returns the results in target order. A failed target does not stop the
// others; after each finished target the AfterTarget hook sees how many
// are done.
func (o *options) forEachTarget(ctx context.Context, targets []target, parallel int,
	work func(ctx context.Context, c kubernetes.Interface, t target) targetResult) []targetResult {
	results := make([]targetResult, len(targets))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, t := range targets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := o.clientCache().get(o, t.context)
			if err != nil {
				results[i] = targetResult{err: err}
			} else {
				results[i] = work(ctx, c, t)
			}
			mu.Lock()
			done++
			n := done
			mu.Unlock()
			if o.env.AfterTarget != nil && n < len(targets) {
				o.env.AfterTarget(n)
			}
		})
	}
	wg.Wait()
	return results
}

// report prints each target's lines to progress, in target order, and one
// error line per failed target to stderr; it returns how many failed. With
// one target its error is not printed here: the command returns it, so it
// is printed once.
func (o *options) report(targets []target, results []targetResult, progress io.Writer) int {
	failed := 0
	for i, r := range results {
		for _, l := range r.lines {
			fmt.Fprintln(progress, l)
		}
		for _, l := range r.warnings {
			fmt.Fprintln(o.env.Stderr, l)
		}
		if r.err != nil {
			failed++
			if len(targets) > 1 {
				fmt.Fprintf(o.env.Stderr, "%s: error: %s\n", targets[i], oneline.Error(o.explain(r.err)))
			}
		}
	}
	return failed
}

// failure is the error of a command some of whose targets failed: the one
// target's own error, or a count (each target's error already reported).
func failure(results []targetResult, failed int) error {
	if len(results) == 1 {
		return results[0].err
	}
	return fmt.Errorf("%d of %d targets failed (re-run to complete them)", failed, len(results))
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
