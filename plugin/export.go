package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"

	"github.com/regcred/regcred/kube"
	"github.com/regcred/regcred/kube/dockerconfig"
)

type exportOptions struct {
	*options
	targetFlags
	email      string
	force      bool
	prune      bool
	dryRun     string
	output     string
	expiryWarn time.Duration
	allRegs    bool
	// sourceFailed counts the failed credential lookups (a store's list,
	// a registry's get; each named on stderr): the export ends non-zero.
	sourceFailed int
}

func newExportCommand(o *options) *cobra.Command {
	e := &exportOptions{options: o}
	cmd := &cobra.Command{
		Use:   "export [REGISTRY...]",
		Short: "Write keyring credentials to a dockerconfigjson Secret",
		Long: `Export writes registry credentials into one kubernetes.io/dockerconfigjson
Secret per namespace (field manager kubectl-regcred): by default those docker
would send (--from docker: the helper credHelpers names for a registry, else
credsStore's, else config.json's auths), or regcred's keyring alone (--from
keyring). It merges: an existing Secret keeps every entry this
export does not write — a teammate's registries, or your own from an
earlier export — and the output names them; --prune drops them instead.
Concurrent exports to one Secret all land (each write names the version it
read, and is redone on a conflict). Without REGISTRY arguments it exports
every stored registry the kubelet can use; identity tokens and docker's
Docker Hub token entries are skipped and named on stderr. Each entry is
written under the key the kubelet matches: lower case, no scheme, Docker
Hub under https://index.docker.io/v1/, a path scope ending in "/".

Credentials that expire — a JWT's exp claim, an ECR token's 12 hours, a
Google access token's hour — are named on stderr when expired or expiring
within --expiry-warning, with what keeps the Secret working. Namespaces are written in parallel; a target that
fails does not stop the others, and a re-run completes what failed.`,
		Example: `  # Every registry in the keyring, to the current namespace
  kubectl regcred export

  # Two registries to two namespaces, listed in each one's default ServiceAccount
  kubectl regcred export ghcr.io registry.example.com:5000 -n dev -n prod --service-account default

  # One registry to every namespace, every ServiceAccount
  kubectl regcred export ghcr.io -A --all-service-accounts

  # Every registry in the keyring to the namespaces with a label, in two clusters
  kubectl regcred export --all-registries --namespace-selector team=payments --context kind-a --context kind-b

  # What would change, registry by registry, asking the server, changing nothing
  kubectl regcred export --dry-run=server

  # Make the Secret hold exactly this export, dropping every other entry
  kubectl regcred export ghcr.io --prune

  # The manifest only, contacting no server
  kubectl regcred export --dry-run=client -o yaml`,
		RunE: func(cmd *cobra.Command, args []string) error { return e.run(cmd.Context(), args) },
	}
	f := cmd.Flags()
	e.targetFlags.add(f, "export to")
	f.StringVar(&e.email, "email", "", "email to record with each registry (as kubectl create secret docker-registry --docker-email)")
	f.BoolVar(&e.force, "force", false, "write into a Secret whose data another field manager owns, or whose content is not a .dockerconfigjson")
	f.BoolVar(&e.prune, "prune", false, "remove the entries of an existing Secret that this export does not write")
	f.StringVar(&e.dryRun, "dry-run", "none", `"none", "client" (contact no server; one line per Secret, -o yaml|json for the manifest) or "server" (server-side dry run: would create, would update or unchanged); --dry-run alone is "client"`)
	f.Lookup("dry-run").NoOptDefVal = "client"
	f.StringVarP(&e.output, "output", "o", "", "print the Secret(s): yaml, json or name")
	f.DurationVar(&e.expiryWarn, "expiry-warning", 7*24*time.Hour, "warn about credentials that expire within this long")
	f.BoolVar(&e.allRegs, "all-registries", false, "with -A or --namespace-selector and no REGISTRY, export every registry in the keyring")
	return cmd
}

func (e *exportOptions) run(ctx context.Context, args []string) error {
	e.bulk = true
	if err := e.check(e.options); err != nil {
		return err
	}
	switch e.dryRun {
	case "none", "client", "server":
	default:
		return fmt.Errorf(`--dry-run must be "none", "client" or "server", not %q`, e.dryRun)
	}
	printer, err := newPrinter(e.output)
	if err != nil {
		return err
	}
	if e.dryRun == "client" && e.broad() {
		return errors.New("--dry-run=client contacts no server, so it cannot find namespaces with -A or --namespace-selector: name them with -n, or use --dry-run=server")
	}
	if e.broad() && len(args) == 0 && !e.allRegs {
		// Every credential of a keyring — a personal Docker Hub token, a
		// repository's PAT — into every namespace is never a default.
		return errors.New("exporting to every namespace -A or --namespace-selector finds, name the registries (kubectl regcred export ghcr.io -A), or say --all-registries for every one in your keyring")
	}
	if e.allRegs && len(args) > 0 {
		return errors.New("--all-registries goes without REGISTRY arguments")
	}
	auths, count, err := e.content(ctx, args)
	if err != nil {
		return err
	}
	targets, err := e.resolve(ctx, e.options, func(why string) { fmt.Fprintf(e.env.Stderr, "skipping %s\n", why) })
	if err != nil {
		return err
	}
	if e.dryRun == "client" && printer == nil {
		// One line per object, as kubectl prints it: never the manifest,
		// whose data is the password in base64, unless -o asks for it.
		for _, t := range targets {
			fmt.Fprintf(e.env.Stdout, "%s: secret/%s created (dry run)\n", t, e.name)
		}
		return nil
	}
	if e.dryRun == "client" {
		data, err := auths.JSON()
		if err != nil {
			return err
		}
		return printObjects(printer, e.env.Stdout, func(add func(runtime.Object)) {
			for _, t := range targets {
				add(kube.Secret(e.name, t.namespace, data))
			}
		})
	}

	// Progress goes to stdout as kubectl's does, unless stdout carries manifests.
	progress := e.env.Stdout
	if printer != nil {
		progress = e.env.Stderr
	}
	suffix := ""
	if e.dryRun == "server" {
		suffix = " (server dry run)"
	}
	snaps := e.snapshots(ctx, &e.targetFlags, targets, e.allServiceAccounts || len(e.serviceAccounts) > 0)
	results := e.forEachTarget(ctx, targets, e.parallel, func(ctx context.Context, c kubernetes.Interface, t target) targetResult {
		return e.exportTo(ctx, c, t, auths, suffix, snaps[t.context])
	})
	failed := e.report(targets, results, progress)
	var written []runtime.Object
	for _, r := range results {
		if r.err == nil {
			r.obj.ManagedFields = nil // the server's bookkeeping, not the manifest
			written = append(written, kube.Redacted(r.obj, auths))
		}
	}
	if printer != nil && len(written) > 0 {
		if err := printObjects(printer, e.env.Stdout, func(add func(runtime.Object)) {
			for _, o := range written {
				add(o)
			}
		}); err != nil {
			return err
		}
	}
	if failed > 0 && len(targets) == 1 {
		return failure(results, failed)
	}
	fmt.Fprintf(e.env.Stderr, "exported %d %s to %d of %d %s%s\n", count, plural(count, "registry", "registries"),
		len(targets)-failed, len(targets), plural(len(targets), "target", "targets"), suffix)
	if failed > 0 {
		return failure(results, failed)
	}
	if e.sourceFailed > 0 {
		return fmt.Errorf("%d credential %s failed (named above); the others were exported", e.sourceFailed, plural(e.sourceFailed, "lookup", "lookups"))
	}
	return nil
}

// renewHint says what keeps an expiring credential working in the cluster.
func renewHint(r dockerconfig.Registry, server string) string {
	if l, ok := kube.LifetimeOf(r, time.Now()); ok && l.Bound {
		return "re-run this export before then (from cron or a CI job), or give nodes the cloud's kubelet credential provider"
	}
	return fmt.Sprintf("log in again (docker login %s) and re-run this export", server)
}

// content reads the selected credentials from the keyring and builds the
// Secret's entries, naming expired or soon-expiring ones on stderr.
func (e *exportOptions) content(ctx context.Context, args []string) (dockerconfig.Auths, int, error) {
	k, err := e.openKeyring(ctx)
	if err != nil {
		return nil, 0, err
	}
	servers, err := k.selectRegistries(ctx, args, func(server, why string) {
		fmt.Fprintf(e.env.Stderr, "skipping %s: %s\n", server, why)
	})
	if err != nil {
		return nil, 0, err
	}
	if k.prefetch != nil {
		k.prefetch(ctx, servers)
	}
	lookup := k.lookup(ctx)
	regs := make([]dockerconfig.Registry, 0, len(servers))
	now := time.Now()
	for _, s := range servers {
		r, ok, err := lookup(s)
		if err != nil {
			return nil, 0, err
		}
		if !ok && e.from == fromKeyring {
			return nil, 0, fmt.Errorf("registry %s is listed but its keyring item is missing (run docker-credential-regcred doctor)", s)
		}
		if !ok {
			fmt.Fprintf(e.env.Stderr, "skipping %s: listed, but its credential helper has none for it\n", s)
			continue
		}
		if note, urgent := kube.ExpiryNote(r, now, now, e.expiryWarn); urgent {
			fmt.Fprintf(e.env.Stderr, "warning: the credential for %s %s: %s\n", s, note, renewHint(r, s))
		}
		r.Email = e.email
		regs = append(regs, r)
	}
	if len(regs) == 0 && k.failed > 0 {
		return nil, 0, fmt.Errorf("nothing to export: %d credential %s failed (named above)", k.failed, plural(k.failed, "lookup", "lookups"))
	}
	if len(regs) == 0 {
		return nil, 0, fmt.Errorf("nothing to export: %s include none the kubelet can use", k.source)
	}
	e.sourceFailed = k.failed
	auths, err := dockerconfig.AuthsOf(regs)
	if err != nil {
		return nil, 0, err
	}
	data, err := auths.JSON()
	if err != nil {
		return nil, 0, err
	}
	if len(data) > kube.MaxSecretSize {
		return nil, 0, fmt.Errorf("%w (%d bytes for %d registries); export fewer registries per Secret", kube.ErrTooLarge, len(data), len(regs))
	}
	return auths, len(regs), nil
}

// exportTo merges the entries into the target's Secret and links the
// ServiceAccounts, reading what snap (nil for none) did not list.
func (e *exportOptions) exportTo(ctx context.Context, c kubernetes.Interface, t target, auths dockerconfig.Auths, suffix string, snap *snapshot) targetResult {
	dry := e.dryRun == "server"
	listed, haveSAs := snap.serviceAccountNames(t.namespace)
	// A ServiceAccount named but missing fails the target before its Secret is written.
	if !e.allServiceAccounts {
		for _, sa := range e.serviceAccounts {
			if haveSAs && slices.Contains(listed, sa) {
				continue
			}
			if err := kube.CheckServiceAccount(ctx, c, t.namespace, sa); err != nil {
				return targetResult{err: err}
			}
		}
	}
	w, err := kube.Write(ctx, c, t.namespace, e.name, auths, kube.WriteOptions{Force: e.force, Prune: e.prune, DryRun: dry,
		BeforeWrite: e.env.BeforeWrite, Listed: snap.secret(t.namespace)})
	if err != nil {
		return targetResult{err: err}
	}
	obj := w.Secret
	r := targetResult{lines: []string{fmt.Sprintf("%s: secret/%s %s%s%s", t, e.name, w.Outcome, suffix, changeNote(w.Changes, dry))}}
	sas := e.serviceAccounts
	switch {
	case e.allServiceAccounts && haveSAs && slices.Contains(listed, "default"):
		sas = listed
	case e.allServiceAccounts:
		// Not listed, or a namespace still waiting for its default.
		if sas, err = e.serviceAccountsToLink(ctx, c, t.namespace); err != nil {
			r.err = err
			return r
		}
	}
	for _, sa := range sas {
		changed, err := kube.AddImagePullSecret(ctx, c, t.namespace, sa, e.name, kube.SAOptions{DryRun: dry, Listed: snap.serviceAccount(t.namespace, sa)})
		var owned *kube.ListOwnedError
		if errors.As(err, &owned) {
			r.warnings = append(r.warnings, fmt.Sprintf("%s: warning: %s", t, owned))
			continue
		}
		if err != nil {
			r.err = err
			return r
		}
		what := "already lists"
		switch {
		case changed && dry:
			what = "would list"
		case changed:
			what = "now lists"
		}
		r.lines = append(r.lines, fmt.Sprintf("%s: serviceaccount/%s %s secret/%s in imagePullSecrets%s", t, sa, what, e.name, suffix))
	}
	obj.TypeMeta.APIVersion, obj.TypeMeta.Kind = "v1", "Secret"
	r.obj = obj
	return r
}

// changeNote says what a write did to the entries it did not simply
// write: in a dry run every entry's action; otherwise the entries kept
// and removed, by key.
func changeNote(changes []dockerconfig.Change, dryRun bool) string {
	if dryRun {
		if len(changes) == 0 {
			return ""
		}
		return ": " + dockerconfig.Summary(changes, true)
	}
	var kept, removed []string
	for _, c := range changes {
		switch c.Action {
		case dockerconfig.Keep:
			kept = append(kept, c.Key)
		case dockerconfig.Remove:
			removed = append(removed, c.Key)
		}
	}
	note := ""
	if len(kept) > 0 {
		note += fmt.Sprintf("; kept %d %s this export does not write: %s", len(kept), plural(len(kept), "entry", "entries"), strings.Join(kept, ", "))
	}
	if len(removed) > 0 {
		note += fmt.Sprintf("; removed (--prune): %s", strings.Join(removed, ", "))
	}
	return note
}

// newPrinter returns the printer for -o, or nil when none was asked for.
func newPrinter(output string) (printers.ResourcePrinter, error) {
	switch output {
	case "":
		return nil, nil
	case "yaml":
		return &printers.YAMLPrinter{}, nil
	case "json":
		return &printers.JSONPrinter{}, nil
	case "name":
		return &printers.NamePrinter{}, nil
	}
	return nil, fmt.Errorf(`-o must be "yaml", "json" or "name", not %q`, output)
}

// printObjects prints one object as itself, several as a v1 List (as kubectl does);
// names one per line.
func printObjects(p printers.ResourcePrinter, w io.Writer, each func(add func(runtime.Object))) error {
	var objs []runtime.Object
	each(func(o runtime.Object) { objs = append(objs, o) })
	if _, names := p.(*printers.NamePrinter); names || len(objs) == 1 {
		// -o name: a line each, as kubectl prints them.
		for _, o := range objs {
			if err := p.PrintObj(o, w); err != nil {
				return err
			}
		}
		return nil
	}
	list := &corev1.List{}
	list.APIVersion, list.Kind = "v1", "List"
	for _, o := range objs {
		list.Items = append(list.Items, runtime.RawExtension{Object: o})
	}
	return p.PrintObj(list, w)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
