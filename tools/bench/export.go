package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/regcred/regcred/testenv/launch"
)

// exportBench compares `kubectl regcred export` of 50 registries into 3
// namespaces with what the Kubernetes task page has users do: one
// `kubectl create secret docker-registry … --dry-run=client -o yaml |
// kubectl apply -f -` per namespace, from a plaintext config.json with the
// same 50 registries. Each run writes to 3 fresh namespaces, so both sides
// create their Secrets.
// With scaleOnly it runs the team-scale benchmark alone and returns its
// section.
func (b *bench) exportBench(runs int, scaleOnly bool, log io.Writer) (string, error) {
	const registries, namespaces = 50, 3
	dir := filepath.Join(b.dir, "export")
	for _, d := range []string{"cluster", "session"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return "", err
		}
	}
	fmt.Fprintln(log, "benchtool: starting etcd and kube-apiserver for the export benchmark")
	cluster, err := launch.StartCluster(filepath.Join(dir, "cluster"), "bench")
	if err != nil {
		return "", err
	}
	defer cluster.Stop()
	kubeconfig, err := launch.Kubeconfig(dir, cluster)
	if err != nil {
		return "", err
	}
	session, err := launch.StartSession(filepath.Join(dir, "session"), launch.Unlocked)
	if err != nil {
		return "", err
	}
	defer session.Stop()
	plugin, err := build(filepath.Join(b.dir, "bin"), "kubectl-regcred", "./cmd/kubectl-regcred", "0")
	if err != nil {
		return "", err
	}
	// docker's config names regcred, so export reads the keyring in-process.
	docker := filepath.Join(dir, "docker")
	if err := os.MkdirAll(docker, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(docker, "config.json"), []byte(`{"credsStore":"regcred"}`), 0o600); err != nil {
		return "", err
	}
	env := append(session.Env(), "KUBECONFIG="+kubeconfig, "DOCKER_CONFIG="+docker)
	auths := map[string]map[string]string{}
	for i := range registries {
		server, user, pass := fmt.Sprintf("reg%02d.bench.example:5000", i), fmt.Sprintf("user%d", i), fmt.Sprintf("pass-%d-%s", i, strings.Repeat("z", 30))
		cmd := exec.Command(b.bins["regcred"], "store")
		cmd.Env, cmd.Stdin = env, strings.NewReader(storeInput(server, user, pass))
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("store: %v: %s", err, out)
		}
		auths[server] = map[string]string{"username": user, "password": pass, "auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}
	}
	cfg, _ := json.Marshal(map[string]any{"auths": auths})
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return "", err
	}
	kubectl := func(args ...string) error {
		cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kubectl %v: %v: %s", args, err, out)
		}
		return nil
	}
	timeIt := func(cmd *exec.Cmd) (time.Duration, error) {
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("%v: %v: %s", cmd.Args, err, out)
		}
		return time.Since(start), nil
	}
	if scaleOnly {
		return b.scaleBench(kubeconfig, plugin, cfgPath, env, log)
	}
	var ours, theirs []sample
	fmt.Fprintf(log, "benchtool: export benchmark, %d runs\n", runs)
	for r := range runs {
		var ns [2][]string
		for side := range 2 {
			for i := range namespaces {
				name := fmt.Sprintf("bench-%d-%d-%d", r, side, i)
				if err := kubectl("create", "namespace", name); err != nil {
					return "", err
				}
				ns[side] = append(ns[side], name)
			}
		}
		sides := []func() error{
			func() error {
				cmd := exec.Command(plugin, "export", "-n", strings.Join(ns[0], ","))
				cmd.Env = env
				d, err := timeIt(cmd)
				ours = append(ours, sample{wall: d})
				return err
			},
			func() error {
				var total time.Duration
				for _, n := range ns[1] {
					cmd := exec.Command("sh", "-c", `kubectl --kubeconfig "$1" create secret docker-registry regcred --from-file=.dockerconfigjson="$2" -n "$3" --dry-run=client -o yaml | kubectl --kubeconfig "$1" apply -f -`, "sh", kubeconfig, cfgPath, n)
					d, err := timeIt(cmd)
					if err != nil {
						return err
					}
					total += d
				}
				theirs = append(theirs, sample{wall: total})
				return nil
			},
		}
		if r%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, run := range sides {
			if err := run(); err != nil {
				return "", err
			}
		}
	}
	scale, err := b.scaleBench(kubeconfig, plugin, cfgPath, env, log)
	if err != nil {
		return "", err
	}
	o, t := median(ours, ms), median(theirs, ms)
	var w strings.Builder
	fmt.Fprintf(&w, "## Export: %d registries into %d namespaces\n\n", registries, namespaces)
	fmt.Fprintf(&w, "One kube-apiserver (v1.34, built from k8s.io/kubernetes) on etcd, on loopback; medians of %d runs, alternating which side goes first, each side writing to 3 fresh namespaces.\n\n", runs)
	fmt.Fprintf(&w, "| method | median ms | ratio |\n| --- | ---: | ---: |\n")
	fmt.Fprintf(&w, "| `kubectl regcred export -n a,b,c` (from the keyring) | %.0f | %.2f× |\n", o, o/t)
	fmt.Fprintf(&w, "| 3 × `kubectl create secret docker-registry --from-file … \\| kubectl apply -f -` (from plaintext config.json) | %.0f | 1.00× |\n\n", t)
	mark := "yes"
	if o >= t {
		mark = "**no**"
	}
	fmt.Fprintf(&w, "Target: faster than the kubectl pipelines — met: %s.\n\n", mark)
	w.WriteString(scale)
	return w.String(), nil
}
