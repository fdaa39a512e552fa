package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// scaleBench compares `kubectl regcred export` into 100 namespaces with two
// ServiceAccounts each (default and builder) with the shell loop platform
// teams write instead, per namespace: `kubectl create secret
// docker-registry … --dry-run=client -o yaml | kubectl apply -f -`, then
// `kubectl patch serviceaccount` for each of the two. Each run writes to
// fresh namespaces, alternating which side goes first.
func (b *bench) scaleBench(kubeconfig, plugin, cfgPath string, env []string, runs int, log io.Writer) (string, error) {
	const namespaces = 100
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return "", err
	}
	cfg.QPS = -1
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	// makeNamespaces creates a labelled set of namespaces, each with its two
	// ServiceAccounts (no controller-manager runs to make "default").
	makeNamespaces := func(set string) ([]string, error) {
		var names []string
		for i := range namespaces {
			name := fmt.Sprintf("%s-%03d", set, i)
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"bench-set": set}}}
			if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
				return nil, err
			}
			for _, sa := range []string{"default", "builder"} {
				if _, err := c.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
					return nil, err
				}
			}
			names = append(names, name)
		}
		return names, nil
	}
	const loop = `for ns in $NAMESPACES; do
  kubectl --kubeconfig "$KC" create secret docker-registry regcred --from-file=.dockerconfigjson="$CFG" -n "$ns" --dry-run=client -o yaml | kubectl --kubeconfig "$KC" apply -f - >/dev/null || exit 1
  for sa in default builder; do
    kubectl --kubeconfig "$KC" patch serviceaccount "$sa" -n "$ns" -p '{"imagePullSecrets":[{"name":"regcred"}]}' >/dev/null || exit 1
  done
done`
	var ours, theirs []sample
	fmt.Fprintf(log, "benchtool: scale benchmark, %d namespaces, %d runs\n", namespaces, runs)
	for r := range runs {
		ourSet, theirSet := fmt.Sprintf("scale-%d-r", r), fmt.Sprintf("scale-%d-k", r)
		if _, err := makeNamespaces(ourSet); err != nil {
			return "", err
		}
		theirNames, err := makeNamespaces(theirSet)
		if err != nil {
			return "", err
		}
		sides := []func() error{
			func() error {
				cmd := exec.Command(plugin, "export", "--namespace-selector", "bench-set="+ourSet, "--all-service-accounts")
				cmd.Env = env
				start := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("export: %v: %s", err, out)
				}
				ours = append(ours, sample{wall: time.Since(start)})
				return nil
			},
			func() error {
				cmd := exec.Command("sh", "-c", loop)
				cmd.Env = append(env, "KC="+kubeconfig, "CFG="+cfgPath, "NAMESPACES="+strings.Join(theirNames, " "))
				start := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("kubectl loop: %v: %s", err, out)
				}
				theirs = append(theirs, sample{wall: time.Since(start)})
				return nil
			},
		}
		if r%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			if err := side(); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(log, "benchtool: scale run %d: regcred %v, kubectl loop %v\n", r, ours[len(ours)-1].wall.Round(time.Millisecond), theirs[len(theirs)-1].wall.Round(time.Millisecond))
	}
	o, t := median(ours, ms), median(theirs, ms)
	var w strings.Builder
	fmt.Fprintf(&w, "## Export at team scale: %d namespaces, 2 ServiceAccounts each\n\n", namespaces)
	fmt.Fprintf(&w, "The same API server; medians of %d runs, alternating which side goes first, each side writing to %d fresh namespaces (each with ServiceAccounts default and builder) and the same 50 registries.\n\n", runs, namespaces)
	fmt.Fprintf(&w, "| method | median ms | ratio |\n| --- | ---: | ---: |\n")
	fmt.Fprintf(&w, "| `kubectl regcred export --namespace-selector … --all-service-accounts` (%d in parallel, no client-side rate limit) | %.0f | %.3f× |\n", 16, o, o/t)
	fmt.Fprintf(&w, "| per namespace: `kubectl create secret docker-registry … \\| kubectl apply -f -`, `kubectl patch serviceaccount` × 2 | %.0f | 1.00× |\n\n", t)
	mark := "yes"
	if o > t/10 {
		mark = "**no**"
	}
	fmt.Fprintf(&w, "Target: at most a tenth of the kubectl loop — met: %s.\n", mark)
	return w.String(), nil
}
