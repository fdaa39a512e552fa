package plugin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regcred/regcred/kube"
	"github.com/regcred/regcred/kube/dockerconfig"
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
		Short: "Remove your registries from the pull Secret, or the Secret when all of it is yours",
		Long: `Delete takes your registries — the entries whose registry and username your
keyring holds — out of the dockerconfigjson Secret in every target namespace.
It deletes the Secret itself only when every entry in it is yours and regcred
alone manages it (kubectl-regcred is its only field manager); then it also
takes the Secret out of the imagePullSecrets of the ServiceAccounts regcred
added it to, keeping every other entry. A Secret that still holds a
teammate's entries keeps them, and its references. A Secret someone else
manages, holding none of your entries, is left alone (in a namespace you
named that is an error; in one -A or a selector found it is said and kept);
--force deletes the Secret whole, whatever it holds. Without
--service-account it lists each namespace's ServiceAccounts once and
changes those regcred added the Secret to; a role that may not list them
gets a warning naming --service-account, and the Secret still goes.`,
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
	f.BoolVar(&d.force, "force", false, "delete the Secret whole, whoever manages it and whoever's entries it holds")
	f.StringVar(&d.dryRun, "dry-run", "none", `"none" or "server" (server-side dry run)`)
	return cmd
}

func (d *deleteOptions) run(ctx context.Context) error {
	d.bulk = true
	if err := d.check(d.options); err != nil {
		return err
	}
	if d.dryRun != "none" && d.dryRun != "server" {
		return fmt.Errorf(`--dry-run must be "none" or "server", not %q`, d.dryRun)
	}
	// References regcred added may be on any ServiceAccount: look at all
	// unless told which.
	if len(d.serviceAccounts) == 0 {
		d.allServiceAccounts = true
	}
	var mine func(key, username string) bool
	if !d.force {
		k, err := d.openKeyring(ctx)
		if err != nil {
			return err
		}
		mine = func(key, username string) bool {
			stored, ok := k.resolve(key)
			return ok && k.list[stored] == username
		}
	}
	targets, err := d.resolve(ctx, d.options, func(why string) { fmt.Fprintf(d.env.Stderr, "skipping %s\n", why) })
	if err != nil {
		return err
	}
	suffix := ""
	if d.dryRun == "server" {
		suffix = " (server dry run)"
	}
	snaps := d.snapshots(ctx, &d.targetFlags, targets, true)
	results := d.forEachTarget(ctx, targets, d.parallel, func(ctx context.Context, c kubernetes.Interface, t target) targetResult {
		return d.deleteFrom(ctx, c, t, mine, suffix, snaps[t.context])
	})
	failed := d.report(targets, results, d.env.Stdout)
	if failed > 0 && len(targets) == 1 {
		return failure(results, failed)
	}
	kept, trimmed := 0, 0
	for _, r := range results {
		switch {
		case r.kept:
			kept++
		case r.trimmed:
			trimmed++
		}
	}
	note := ""
	if trimmed > 0 {
		note += fmt.Sprintf("; took your entries out of %d with others' too", trimmed)
	}
	if kept > 0 {
		note += fmt.Sprintf("; kept %d with none of yours", kept)
	}
	fmt.Fprintf(d.env.Stderr, "deleted secret/%s from %d of %d %s%s%s\n", d.name, len(targets)-failed-kept-trimmed, len(targets), plural(len(targets), "target", "targets"), note, suffix)
	if failed > 0 {
		return failure(results, failed)
	}
	return nil
}

// deleteFrom plans with a server-side dry run first. When the Secret goes
// (or is gone already) it removes the references first, then the Secret:
// a failure half-way leaves no ServiceAccount pointing at a deleted
// Secret. When only the caller's entries go, the references stay. What
// snap (nil for none) listed is not read again.
func (d *deleteOptions) deleteFrom(ctx context.Context, c kubernetes.Interface, t target, mine func(key, username string) bool, suffix string, snap *snapshot) targetResult {
	dry := d.dryRun == "server"
	opts := kube.DeleteOptions{Force: d.force, DryRun: true, Mine: mine, Listed: snap.secret(t.namespace)}
	var r targetResult
	// Refuse (a Secret regcred does not manage, RBAC) before changing anything.
	// Across namespaces found by -A or a selector, another tool's Secret of
	// the same name is kept by design: said, and no failure.
	plan, err := kube.Delete(ctx, c, t.namespace, d.name, opts)
	if err != nil {
		var notOurs *kube.NotOursError
		if errors.As(err, &notOurs) && d.broad() {
			r.kept = true
			why := fmt.Sprintf("managed by %s, not %s", notOurs.Managers, kube.FieldManager)
			if notOurs.Trim {
				why = fmt.Sprintf("your entries are in data %s writes; take them out there", notOurs.Managers)
			}
			if notOurs.Managers == "" {
				why = fmt.Sprintf("none of its %d %s is yours", notOurs.Entries, plural(notOurs.Entries, "entry", "entries"))
			}
			hint := " (--force deletes it)"
			if notOurs.Trim {
				hint = ""
			}
			r.lines = append(r.lines, fmt.Sprintf("%s: secret/%s kept: %s%s", t, d.name, why, hint))
			return r
		}
		r.err = err
		return r
	}
	var unlinked []string
	if plan.Outcome == kube.WouldDelete || plan.Outcome == kube.NotFound {
		if unlinked, err = d.unlink(ctx, c, t, dry, suffix, snap, &r); err != nil {
			d.relink(ctx, c, t, unlinked, &r)
			r.err = err
			return r
		}
	}
	opts.DryRun, opts.BeforeWrite = dry, d.env.BeforeWrite
	done, err := kube.Delete(ctx, c, t.namespace, d.name, opts)
	if err != nil || done.Outcome == kube.Configured {
		// The Secret stays — a teammate's export went in after the plan,
		// or the delete failed: the references it still needs go back.
		d.relink(ctx, c, t, unlinked, &r)
	}
	if err != nil {
		r.err = err
		return r
	}
	note := ""
	if len(done.Changes) > 0 {
		note = ": " + dockerconfig.Summary(done.Changes, dry)
	}
	r.trimmed = done.Outcome == kube.Configured || done.Outcome == kube.WouldUpdate
	r.lines = append(r.lines, fmt.Sprintf("%s: secret/%s %s%s%s", t, d.name, done.Outcome, suffix, note))
	return r
}

// referencing names the ServiceAccounts unlink looks at: those named
// with --service-account, or else those of the namespace's one LIST (or
// the snapshot's) whose annotation says regcred added the Secret. Where listing ServiceAccounts is forbidden (a role for
// Secrets alone) none is looked at, and a warning says which flag names
// them: the Secret itself still goes.
func (d *deleteOptions) referencing(ctx context.Context, c kubernetes.Interface, t target, snap *snapshot, r *targetResult) ([]string, error) {
	if !d.allServiceAccounts {
		return d.serviceAccounts, nil
	}
	if listed, ok := snap.serviceAccountNames(t.namespace); ok {
		return slices.DeleteFunc(listed, func(n string) bool {
			return !kube.AddedBy(snap.serviceAccount(t.namespace, n).Object, d.name)
		}), nil
	}
	list, err := c.CoreV1().ServiceAccounts(t.namespace).List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) {
		r.warnings = append(r.warnings, fmt.Sprintf("%s: warning: may not list serviceaccounts, so none that lists secret/%s was changed; name them with --service-account", t, d.name))
		return nil, nil
	}
	if err != nil {
		return nil, kube.Explain(err, "list", "serviceaccounts", t.namespace)
	}
	var names []string
	for i := range list.Items {
		if kube.AddedBy(&list.Items[i], d.name) {
			names = append(names, list.Items[i].Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// relink puts the Secret back in the imagePullSecrets of the
// ServiceAccounts unlink took it out of.
func (d *deleteOptions) relink(ctx context.Context, c kubernetes.Interface, t target, sas []string, r *targetResult) {
	for _, sa := range sas {
		if _, err := kube.AddImagePullSecret(ctx, c, t.namespace, sa, d.name, kube.SAOptions{}); err != nil {
			r.warnings = append(r.warnings, fmt.Sprintf("%s: warning: serviceaccount/%s no longer lists secret/%s, which stays: %v", t, sa, d.name, err))
			continue
		}
		r.lines = append(r.lines, fmt.Sprintf("%s: serviceaccount/%s lists secret/%s again: it stays", t, sa, d.name))
	}
}

// unlink takes the Secret out of the imagePullSecrets of the
// ServiceAccounts regcred added it to, and returns those it changed.
func (d *deleteOptions) unlink(ctx context.Context, c kubernetes.Interface, t target, dry bool, suffix string, snap *snapshot, r *targetResult) ([]string, error) {
	sas, err := d.referencing(ctx, c, t, snap, r)
	if err != nil {
		return nil, err
	}
	var unlinked []string
	for _, sa := range sas {
		changed, err := kube.RemoveImagePullSecret(ctx, c, t.namespace, sa, d.name, kube.SAOptions{DryRun: dry, Listed: snap.serviceAccount(t.namespace, sa)})
		var owned *kube.ListOwnedError
		if errors.As(err, &owned) {
			r.warnings = append(r.warnings, fmt.Sprintf("%s: warning: %s", t, owned))
			continue
		}
		if err != nil {
			return unlinked, err
		}
		if changed {
			if !dry {
				unlinked = append(unlinked, sa)
			}
			what := "no longer lists"
			if dry {
				what = "would no longer list"
			}
			r.lines = append(r.lines, fmt.Sprintf("%s: serviceaccount/%s %s secret/%s%s", t, sa, what, d.name, suffix))
		}
	}
	return unlinked, nil
}
