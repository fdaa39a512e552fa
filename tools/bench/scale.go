package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// scaleCases are the team-scale sizes: namespaces, and runs at each.
var scaleCases = []struct{ namespaces, runs int }{{100, 3}, {1000, 1}}

// scalePhases are what each side does to its namespaces, in order.
var scalePhases = []string{"first export", "unchanged re-export", "delete"}

// scaleBench compares `kubectl regcred export` into namespaces with two
// ServiceAccounts each (default and builder) — the first export, an
// unchanged re-export, then delete — with the shell loops platform teams
// write instead, per namespace: `kubectl create secret docker-registry …
// --dry-run=client -o yaml | kubectl apply -f -` and `kubectl patch
// serviceaccount` for each of the two; `kubectl delete secret` and a patch
// emptying each list. Each run writes to fresh namespaces, alternating
// which side goes first. regcred runs as a team member (a user RBAC lets
// read and write Secrets and ServiceAccounts, whose requests the API
// server's priority and fairness governs, so regcred lifts its
// client-side limit) and as the admin (system:masters, exempt from
// priority and fairness: the limit is kept). Requests are counted at the
// API server (apiserver_request_total for namespaces, secrets,
// serviceaccounts and prioritylevelconfigurations, read before and after
// each command, nothing else running).
func (b *bench) scaleBench(kubeconfig, plugin, cfgPath string, env []string, log io.Writer) (string, error) {
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
	makeNamespaces := func(set string, n int) ([]string, error) {
		var names []string
		for i := range n {
			name := fmt.Sprintf("%s-%04d", set, i)
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
	const kubectl = `kubectl --kubeconfig "$KC" --context "$KCTX"`
	loops := map[string]string{
		"first export": `for ns in $NAMESPACES; do
  ` + kubectl + ` create secret docker-registry regcred --from-file=.dockerconfigjson="$CFG" -n "$ns" --dry-run=client -o yaml | ` + kubectl + ` apply -f - >/dev/null || exit 1
  for sa in default builder; do
    ` + kubectl + ` patch serviceaccount "$sa" -n "$ns" -p '{"imagePullSecrets":[{"name":"regcred"}]}' >/dev/null || exit 1
  done
done`,
		"delete": `for ns in $NAMESPACES; do
  ` + kubectl + ` delete secret regcred -n "$ns" >/dev/null || exit 1
  for sa in default builder; do
    ` + kubectl + ` patch serviceaccount "$sa" -n "$ns" -p '{"imagePullSecrets":null}' >/dev/null || exit 1
  done
done`,
	}
	loops["unchanged re-export"] = loops["first export"]
	// measure runs cmd alone and returns its wall time and requests.
	measure := func(cmd *exec.Cmd) (sample, int, error) {
		before, err := requestCount(ctx, c)
		if err != nil {
			return sample{}, 0, err
		}
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return sample{}, 0, fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, out)
		}
		wall := time.Since(start)
		after, err := requestCount(ctx, c)
		return sample{wall: wall}, after - before, err
	}
	type cell struct {
		samples  []sample
		requests int
	}
	var w strings.Builder
	fmt.Fprintf(&w, "## Export at team scale: namespaces with 2 ServiceAccounts each, as a team member and as the admin\n\n")
	fmt.Fprintf(&w, "The same API server. Each side works on its own fresh namespaces (each with ServiceAccounts default and builder) and the same 50 registries: first export, an unchanged re-export, then delete, alternating which side goes first. regcred runs as a team member — a user RBAC lets read and write Secrets and ServiceAccounts, whose requests priority and fairness governs, so regcred lifts its client-side limit — and as the cluster admin (system:masters), whom priority and fairness exempts: there regcred keeps its client-side limit of 50 requests per second (burst 100). regcred's namespaces are found with `--namespace-selector` (delete: the same code path as `-A`, which would reach the other side's namespaces); every registry, `--all-service-accounts`. Requests are counted at the API server (`apiserver_request_total` of namespaces, secrets, serviceaccounts and prioritylevelconfigurations, before and after each command; kubectl's discovery requests are not among them). Times are medians; requests the last run's.\n\n")
	for _, sc := range scaleCases {
		cells := map[string]map[string]*cell{}
		for _, side := range []string{"member", "admin", "kubectl"} {
			cells[side] = map[string]*cell{}
			for _, p := range scalePhases {
				cells[side][p] = &cell{}
			}
		}
		fmt.Fprintf(log, "benchtool: scale benchmark, %d namespaces, %d runs\n", sc.namespaces, sc.runs)
		for r := range sc.runs {
			sets := map[string]string{}
			var theirNames []string
			for _, side := range []string{"member", "admin", "kubectl"} {
				sets[side] = fmt.Sprintf("s%d-%d-%c", sc.namespaces, r, side[0])
				names, err := makeNamespaces(sets[side], sc.namespaces)
				if err != nil {
					return "", err
				}
				if side == "kubectl" {
					theirNames = names
				}
			}
			for _, phase := range scalePhases {
				regcred := func(side, kctx string) func() error {
					return func() error {
						args := []string{"export", "--all-registries", "--all-service-accounts"}
						if phase == "delete" {
							args = []string{"delete"}
						}
						cmd := exec.Command(plugin, append(args, "--context", kctx, "--namespace-selector", "bench-set="+sets[side])...)
						cmd.Env = env
						s, n, err := measure(cmd)
						cells[side][phase].samples = append(cells[side][phase].samples, s)
						cells[side][phase].requests = n
						return err
					}
				}
				sides := []func() error{
					regcred("member", memberContext),
					func() error {
						cmd := exec.Command("sh", "-c", loops[phase])
						cmd.Env = append(env, "KC="+kubeconfig, "KCTX="+memberContext, "CFG="+cfgPath, "NAMESPACES="+strings.Join(theirNames, " "))
						s, n, err := measure(cmd)
						cells["kubectl"][phase].samples = append(cells["kubectl"][phase].samples, s)
						cells["kubectl"][phase].requests = n
						return err
					},
				}
				if r%2 == 1 {
					sides[0], sides[1] = sides[1], sides[0]
				}
				for _, side := range append(sides, regcred("admin", adminContext)) {
					if err := side(); err != nil {
						return "", err
					}
				}
				fmt.Fprintf(log, "benchtool: scale %d run %d %s: regcred %v (%d requests), as admin %v (%d), kubectl loop %v (%d)\n", sc.namespaces, r, phase,
					last(cells["member"][phase].samples), cells["member"][phase].requests, last(cells["admin"][phase].samples), cells["admin"][phase].requests,
					last(cells["kubectl"][phase].samples), cells["kubectl"][phase].requests)
			}
		}
		fmt.Fprintf(&w, "### %d namespaces × 2 ServiceAccounts (%d %s)\n\n", sc.namespaces, sc.runs, map[bool]string{true: "run", false: "runs"}[sc.runs == 1])
		fmt.Fprintf(&w, "| who | first export: ms, requests, ratio | unchanged re-export | delete |\n| --- | --- | --- | --- |\n")
		for _, side := range []struct{ key, label string }{
			{"member", "`kubectl regcred` as a team member (no client-side limit)"},
			{"admin", "`kubectl regcred` as the admin (limit kept: 50/s, burst 100)"},
			{"kubectl", "the kubectl loop, per namespace"},
		} {
			fmt.Fprintf(&w, "| %s |", side.label)
			for _, p := range scalePhases {
				v, k := median(cells[side.key][p].samples, ms), median(cells["kubectl"][p].samples, ms)
				fmt.Fprintf(&w, " %.0f ms, %d, %.3f× |", v, cells[side.key][p].requests, v/k)
			}
			w.WriteString("\n")
		}
		w.WriteString("\n")
		if sc.namespaces == 100 {
			a, k := median(cells["admin"]["first export"].samples, ms), median(cells["kubectl"]["first export"].samples, ms)
			fmt.Fprintf(&w, "Targets (issue 32, as admin): first export at most a tenth of the kubectl loop — %.3f×, met: %s; an unchanged re-export at most 5 requests — %d, met: %s.\n\n",
				a/k, yesNo(a <= k/10), cells["admin"]["unchanged re-export"].requests, yesNo(cells["admin"]["unchanged re-export"].requests <= 5))
		}
	}
	return w.String(), nil
}

func last(ss []sample) time.Duration { return ss[len(ss)-1].wall.Round(time.Millisecond) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// countedResources are the resources whose requests requestCount adds up:
// those export and delete read and write, and the priority level regcred
// reads to decide its rate limit.
var countedResources = []string{"namespaces", "secrets", "serviceaccounts", "prioritylevelconfigurations"}

// requestCount reads the API server's apiserver_request_total and adds up
// the requests for countedResources so far.
func requestCount(ctx context.Context, c kubernetes.Interface) (int, error) {
	raw, err := c.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	total := 0.0
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		counted := false
		for _, r := range countedResources {
			counted = counted || strings.Contains(line, `resource="`+r+`"`)
		}
		fields := strings.Fields(line)
		if !counted || len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		total += v
	}
	return int(total), nil
}

// Contexts of the benchmark's kubeconfig (launch.Kubeconfig): the admin,
// and the user "nobody", whom grantMember makes a team member.
const adminContext, memberContext = "bench", "bench-nobody"

// grantMember lets the user "nobody" do what export does: list
// namespaces, read, write and delete Secrets and ServiceAccounts.
func grantMember(ctx context.Context, c kubernetes.Interface) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-member"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"secrets", "serviceaccounts"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
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
