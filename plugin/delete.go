package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/regcred/regcred/kube"
)

type deleteOptions struct {
	*options
	targetFlags
	force  bool
	dryRun string
}

func newDeleteCommand(o *options) *cobra.Command {
	d := &deleteOptions{options: o}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Remove the pull Secret regcred wrote, and the references it added",
		Long: `Delete removes the dockerconfigjson Secret from every target namespace where
regcred manages it (field manager kubectl-regcred; one that someone else
manages only with --force: in a namespace you named that is an error, in
one -A or a selector found it is kept and said), and takes it out of the imagePullSecrets of the
ServiceAccounts regcred added it to, keeping every other entry. Without
--service-account it checks every ServiceAccount of each namespace for
references regcred added.`,
		Example: `  # Remove the Secret from namespace dev, and from its ServiceAccounts
  kubectl regcred delete -n dev

  # From every namespace
  kubectl regcred delete -A

  # What would be removed from the team's namespaces, without removing it
  kubectl regcred delete --namespace-selector team=payments --dry-run=server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return d.run(cmd.Context()) },
	}
	f := cmd.Flags()
	d.targetFlags.add(f, "delete from")
	f.BoolVar(&d.force, "force", false, "delete the Secret even where another field manager manages it")
	f.StringVar(&d.dryRun, "dry-run", "none", `"none" or "server" (server-side dry run)`)
	return cmd
}

func (d *deleteOptions) run(ctx context.Context) error {
	if d.dryRun != "none" && d.dryRun != "server" {
		return fmt.Errorf(`--dry-run must be "none" or "server", not %q`, d.dryRun)
	}
	// References regcred added may be on any ServiceAccount: look at all
	// unless told which.
	if len(d.serviceAccounts) == 0 {
		d.allServiceAccounts = true
	}
	targets, err := d.resolve(ctx, d.options, func(why string) { fmt.Fprintf(d.env.Stderr, "skipping %s\n", why) })
	if err != nil {
		return err
	}
	suffix := ""
	if d.dryRun == "server" {
		suffix = " (server dry run)"
	}
	results := d.forEachTarget(ctx, targets, d.parallel, func(ctx context.Context, c kubernetes.Interface, t target) targetResult {
		return d.deleteFrom(ctx, c, t, suffix)
	})
	failed := d.report(targets, results, d.env.Stdout)
	kept := 0
	for _, r := range results {
		if r.kept {
			kept++
		}
	}
	keptNote := ""
	if kept > 0 {
		keptNote = fmt.Sprintf("; kept %d another tool manages", kept)
	}
	fmt.Fprintf(d.env.Stderr, "deleted secret/%s from %d of %d %s%s%s\n", d.name, len(targets)-failed-kept, len(targets), plural(len(targets), "target", "targets"), keptNote, suffix)
	if failed > 0 {
		return failure(results, failed)
	}
	return nil
}

// deleteFrom removes the references first, then the Secret: a failure
// half-way leaves no ServiceAccount pointing at a deleted Secret.
func (d *deleteOptions) deleteFrom(ctx context.Context, c kubernetes.Interface, t target, suffix string) targetResult {
	dry := d.dryRun == "server"
	var r targetResult
	// Refuse (a Secret regcred does not manage, RBAC) before changing anything.
	// Across namespaces found by -A or a selector, another tool's Secret of
	// the same name is kept by design: said, and no failure.
	if _, err := kube.Delete(ctx, c, t.namespace, d.name, kube.DeleteOptions{Force: d.force, DryRun: true}); err != nil {
		var notOurs *kube.NotOursError
		if errors.As(err, &notOurs) && d.broad() {
			r.kept = true
			r.lines = append(r.lines, fmt.Sprintf("%s: secret/%s kept: managed by %s, not %s (--force deletes it)", t, d.name, notOurs.Managers, kube.FieldManager))
			return r
		}
		r.err = err
		return r
	}
	sas, err := d.serviceAccountsIn(ctx, c, t.namespace)
	if err != nil {
		r.err = err
		return r
	}
	for _, sa := range sas {
		changed, err := kube.RemoveImagePullSecret(ctx, c, t.namespace, sa, d.name, dry)
		if err != nil {
			r.err = err
			return r
		}
		if changed {
			what := "no longer lists"
			if dry {
				what = "would no longer list"
			}
			r.lines = append(r.lines, fmt.Sprintf("%s: serviceaccount/%s %s secret/%s%s", t, sa, what, d.name, suffix))
		}
	}
	outcome, err := kube.Delete(ctx, c, t.namespace, d.name, kube.DeleteOptions{Force: d.force, DryRun: dry})
	if err != nil {
		r.err = err
		return r
	}
	r.lines = append(r.lines, fmt.Sprintf("%s: secret/%s %s%s", t, d.name, outcome, suffix))
	return r
}
