package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// scaleBench compares `kubectl regcred export` into 100 namespaces with two
// ServiceAccounts each (default and builder) with the shell loop platform
// teams write instead, per namespace: `kubectl create secret
// docker-registry … --dry-run=client -o yaml | kubectl apply -f -`, then
// `kubectl patch serviceaccount` for each of the two. Each run writes to
// fresh namespaces, alternating which side goes first. Both run as a team
// member: a user RBAC lets write Secrets and ServiceAccounts, whose
// requests the API server's priority and fairness governs, so regcred
// lifts its client-side limit. A third row runs regcred as the admin
// (system:masters, exempt from priority and fairness), which keeps it.
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
	if err := grantMember(ctx, c); err != nil {
		return "", err
	}
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
  kubectl --kubeconfig "$KC" --context "$KCTX" create secret docker-registry regcred --from-file=.dockerconfigjson="$CFG" -n "$ns" --dry-run=client -o yaml | kubectl --kubeconfig "$KC" --context "$KCTX" apply -f - >/dev/null || exit 1
  for sa in default builder; do
    kubectl --kubeconfig "$KC" --context "$KCTX" patch serviceaccount "$sa" -n "$ns" -p '{"imagePullSecrets":[{"name":"regcred"}]}' >/dev/null || exit 1
  done
done`
	var ours, theirs, admins []sample
	fmt.Fprintf(log, "benchtool: scale benchmark, %d namespaces, %d runs\n", namespaces, runs)
	export := func(set, kctx string, into *[]sample) error {
		cmd := exec.Command(plugin, "export", "--all-registries", "--context", kctx, "--namespace-selector", "bench-set="+set, "--all-service-accounts")
		cmd.Env = env
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("export: %v: %s", err, out)
		}
		*into = append(*into, sample{wall: time.Since(start)})
		return nil
	}
	for r := range runs {
		ourSet, theirSet, adminSet := fmt.Sprintf("scale-%d-r", r), fmt.Sprintf("scale-%d-k", r), fmt.Sprintf("scale-%d-a", r)
		for _, set := range []string{ourSet, adminSet} {
			if _, err := makeNamespaces(set); err != nil {
				return "", err
			}
		}
		theirNames, err := makeNamespaces(theirSet)
		if err != nil {
			return "", err
		}
		sides := []func() error{
			func() error { return export(ourSet, memberContext, &ours) },
			func() error {
				cmd := exec.Command("sh", "-c", loop)
				cmd.Env = append(env, "KC="+kubeconfig, "KCTX="+memberContext, "CFG="+cfgPath, "NAMESPACES="+strings.Join(theirNames, " "))
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
		for _, side := range append(sides, func() error { return export(adminSet, adminContext, &admins) }) {
			if err := side(); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(log, "benchtool: scale run %d: regcred %v (as admin %v), kubectl loop %v\n", r, ours[len(ours)-1].wall.Round(time.Millisecond),
			admins[len(admins)-1].wall.Round(time.Millisecond), theirs[len(theirs)-1].wall.Round(time.Millisecond))
	}
	o, t, a := median(ours, ms), median(theirs, ms), median(admins, ms)
	var w strings.Builder
	fmt.Fprintf(&w, "## Export at team scale: %d namespaces, 2 ServiceAccounts each\n\n", namespaces)
	fmt.Fprintf(&w, "The same API server; medians of %d runs, alternating which side goes first, each side writing to %d fresh namespaces (each with ServiceAccounts default and builder) and the same 50 registries, as a team member: a user RBAC lets write Secrets and ServiceAccounts, whose requests priority and fairness governs. The last row is regcred as the cluster admin (system:masters), whom priority and fairness exempts: there regcred keeps its client-side limit of 50 requests per second (burst 100).\n\n", runs, namespaces)
	fmt.Fprintf(&w, "| method | median ms | ratio |\n| --- | ---: | ---: |\n")
	fmt.Fprintf(&w, "| `kubectl regcred export --namespace-selector … --all-service-accounts` (%d in parallel, no client-side rate limit) | %.0f | %.3f× |\n", 16, o, o/t)
	fmt.Fprintf(&w, "| per namespace: `kubectl create secret docker-registry … \\| kubectl apply -f -`, `kubectl patch serviceaccount` × 2 | %.0f | 1.00× |\n", t)
	fmt.Fprintf(&w, "| the same export as the admin (exempt: client-side limit kept) | %.0f | %.3f× |\n\n", a, a/t)
	mark := "yes"
	if o > t/10 {
		mark = "**no**"
	}
	fmt.Fprintf(&w, "Target: at most a tenth of the kubectl loop — met: %s.\n", mark)
	return w.String(), nil
}

// Contexts of the benchmark's kubeconfig (launch.Kubeconfig): the admin,
// and the user "nobody", whom grantMember makes a team member.
const adminContext, memberContext = "bench", "bench-nobody"

// grantMember lets the user "nobody" do what export does: list
// namespaces, write Secrets and ServiceAccounts.
func grantMember(ctx context.Context, c kubernetes.Interface) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-member"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"secrets", "serviceaccounts"}, Verbs: []string{"get", "list", "create", "update", "patch"}},
		},
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-member"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "bench-member"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "nobody"}},
	}
	_, err := c.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	return err
}
