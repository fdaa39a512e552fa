package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
)

// FieldManager is the server-side apply field manager regcred writes as.
const FieldManager = "kubectl-regcred"

// DefaultSecretName is the Secret name used unless --name says otherwise.
const DefaultSecretName = "regcred"

// MaxSecretSize is the API server's limit on a Secret's data.
const MaxSecretSize = 1 << 20

// Outcome is what a write did to a Secret.
type Outcome string

// Outcomes, in kubectl's words, and what a server-side dry run would do.
const (
	Created    Outcome = "created"
	Configured Outcome = "configured"
	Unchanged  Outcome = "unchanged"
	Deleted    Outcome = "deleted"
	NotFound   Outcome = "not found"

	WouldCreate Outcome = "would create"
	WouldUpdate Outcome = "would update"
	WouldDelete Outcome = "would delete"
)

// ErrTooLarge is returned for a Secret over MaxSecretSize.
var ErrTooLarge = errors.New("the Secret would exceed the API server's 1 MiB limit")

// Secret returns the dockerconfigjson Secret name/namespace holding data,
// with its type meta set so printers can print it.
func Secret(name, namespace string, data []byte) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	}
}

// WriteOptions tune Write.
type WriteOptions struct {
	// Force writes into a Secret whose data another field manager owns,
	// and over content that is not a readable .dockerconfigjson.
	Force bool
	// Prune removes the entries this write does not carry.
	Prune bool
	// DryRun sends every write as a server-side dry run.
	DryRun bool
}

// Written is what Write did, or in a dry run would do.
type Written struct {
	Secret  *corev1.Secret
	Outcome Outcome
	Changes []Change // per entry, sorted by key
}

// conflictBackoff spaces the retries of a write that lost a race with
// another writer of the same Secret; each retry reads the Secret again.
var conflictBackoff = wait.Backoff{Steps: 12, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1}

// onConflict runs fn again, after a pause, while it fails with a write
// conflict (or a create that another writer's create beat), at most
// conflictBackoff.Steps times; it returns fn's last error. (client-go's
// retry.OnError would return nil for a request that timed out, which
// wait.Interrupted takes for its own deadline.)
func onConflict(fn func() error) error {
	b := conflictBackoff
	for {
		err := fn()
		if err == nil || !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) || b.Steps <= 1 {
			return err
		}
		time.Sleep(b.Step())
	}
}

// Write merges ours into the dockerconfigjson Secret name/namespace (see
// Merge): it creates the Secret, or updates it keeping every entry it does
// not write (unless Prune). It never clobbers: each update names the
// resourceVersion it read and is redone on a conflict, so concurrent
// writers all land; a Secret of another type is refused with the command
// that would clear the way; data another field manager owns, or content
// that is not a .dockerconfigjson, is refused without Force. An unchanged
// Secret is not written (its resourceVersion does not move).
func Write(ctx context.Context, c kubernetes.Interface, namespace, name string, ours Auths, opts WriteOptions) (Written, error) {
	secrets := c.CoreV1().Secrets(namespace)
	var dryRun []string
	if opts.DryRun {
		dryRun = []string{metav1.DryRunAll}
	}
	var w Written
	err := onConflict(func() error {
		old, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return w.create(ctx, secrets, namespace, name, ours, dryRun)
		}
		if err != nil {
			return Explain(err, "get", "secrets", namespace)
		}
		existing, err := writable(old, opts.Force)
		if err != nil {
			return err
		}
		merged, changes := Merge(existing, ours, opts.Prune)
		data, err := merged.JSON()
		if err != nil {
			return err
		}
		if len(data) > MaxSecretSize {
			return fmt.Errorf("secret %s/%s: %w (%d bytes with the entries it keeps); export fewer registries, or --prune", namespace, name, ErrTooLarge, len(data))
		}
		w.Changes = changes
		if bytes.Equal(data, old.Data[corev1.DockerConfigJsonKey]) {
			w.Secret, w.Outcome = old, Unchanged
			return nil
		}
		upd := old.DeepCopy()
		upd.Data[corev1.DockerConfigJsonKey] = data
		got, err := secrets.Update(ctx, upd, metav1.UpdateOptions{FieldManager: FieldManager, DryRun: dryRun})
		if err != nil {
			return err
		}
		w.Secret, w.Outcome = got, Configured
		if opts.DryRun {
			w.Outcome = WouldUpdate
		}
		return nil
	})
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return w, fmt.Errorf("secret %s/%s: other writers kept changing it; re-run to merge into the latest", namespace, name)
	}
	if err != nil {
		return w, Explain(err, "update", "secrets", namespace)
	}
	return w, nil
}

// create creates the Secret holding ours; another writer's create in
// between is an AlreadyExists, which Write retries as an update.
func (w *Written) create(ctx context.Context, secrets typedcorev1.SecretInterface, namespace, name string, ours Auths, dryRun []string) error {
	data, err := ours.JSON()
	if err != nil {
		return err
	}
	if len(data) > MaxSecretSize {
		return fmt.Errorf("secret %s/%s: %w (%d bytes); export fewer registries per Secret", namespace, name, ErrTooLarge, len(data))
	}
	got, err := secrets.Create(ctx, Secret(name, namespace, data), metav1.CreateOptions{FieldManager: FieldManager, DryRun: dryRun})
	if apierrors.IsAlreadyExists(err) {
		return err
	}
	if err != nil {
		return Explain(err, "create", "secrets", namespace)
	}
	w.Secret, w.Outcome, w.Changes = got, Created, nil
	if len(dryRun) > 0 {
		w.Outcome = WouldCreate
	}
	for k := range ours {
		w.Changes = append(w.Changes, Change{k, Add})
	}
	sort.Slice(w.Changes, func(i, j int) bool { return w.Changes[i].Key < w.Changes[j].Key })
	return nil
}

// writable returns the entries of an existing Secret Write may merge into,
// or the error that says why it may not.
func writable(old *corev1.Secret, force bool) (Auths, error) {
	if old.Type != corev1.SecretTypeDockerConfigJson {
		return nil, fmt.Errorf("secret %s/%s already exists with type %q, not %q, and a Secret's type cannot change: use another --name, or delete it first (kubectl delete secret %s -n %s)",
			old.Namespace, old.Name, old.Type, corev1.SecretTypeDockerConfigJson, old.Name, old.Namespace)
	}
	if owners := managers(old.ManagedFields, `"f:data"`, others); len(owners) > 0 && !force {
		return nil, fmt.Errorf("secret %s/%s: its data is managed by another field manager (%s); re-run with --force to add your entries to it", old.Namespace, old.Name, strings.Join(owners, ", "))
	}
	existing, err := ParseAuths(old.Data[corev1.DockerConfigJsonKey])
	if err != nil && !force {
		return nil, fmt.Errorf("secret %s/%s: %w; --force replaces its content", old.Namespace, old.Name, err)
	}
	if err != nil {
		existing = Auths{}
	}
	return existing, nil
}

// managers lists, as manager/operation, the field managers in mfs that
// own field (a FieldsV1 key such as `"f:data"`; "" for any) and that keep
// says to.
func managers(mfs []metav1.ManagedFieldsEntry, field string, keep func(metav1.ManagedFieldsEntry) bool) []string {
	var out []string
	for _, m := range mfs {
		if field != "" && (m.FieldsV1 == nil || !strings.Contains(string(m.FieldsV1.Raw), field)) {
			continue
		}
		if keep(m) {
			out = append(out, m.Manager+"/"+string(m.Operation))
		}
	}
	return out
}

// others keeps the managers that are not kubectl-regcred.
func others(m metav1.ManagedFieldsEntry) bool { return m.Manager != FieldManager }

// anyone keeps every manager.
func anyone(metav1.ManagedFieldsEntry) bool { return true }

// AddedAnnotation, on a ServiceAccount, lists the imagePullSecrets entries
// regcred added (comma-separated Secret names), so that delete removes those
// and never an entry someone else made.
const AddedAnnotation = "kubectl-regcred/added-image-pull-secrets"

// AddImagePullSecret adds secret to the ServiceAccount's imagePullSecrets,
// keeping the entries it has and adding no duplicate, and notes the entry as
// regcred's (AddedAnnotation) when it added it. imagePullSecrets is an
// atomic list (a patch would replace it whole, kubernetes#72475), so this
// reads, appends and updates, retrying on a write conflict. A list another
// tool applies (GitOps: Argo CD, Flux, kubectl apply --server-side) is
// left alone, a *ListOwnedError: that tool would take the entry out again
// on its next sync, and the two would flap. It reports whether the
// ServiceAccount changed (or, in a dry run, would).
func AddImagePullSecret(ctx context.Context, c kubernetes.Interface, namespace, serviceAccount, secret string, dryRun bool) (bool, error) {
	return updateServiceAccount(ctx, c, namespace, serviceAccount, dryRun, func(sa *corev1.ServiceAccount) (bool, error) {
		if slices.Contains(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret}) {
			return false, nil
		}
		if appliers := managers(sa.ManagedFields, `"f:imagePullSecrets"`, func(m metav1.ManagedFieldsEntry) bool {
			return m.Operation == metav1.ManagedFieldsOperationApply && others(m)
		}); len(appliers) > 0 {
			return false, &ListOwnedError{Namespace: namespace, ServiceAccount: serviceAccount, Secret: secret, Managers: appliers, Adding: true}
		}
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret})
		setAdded(sa, append(added(sa), secret))
		return true, nil
	})
}

// RemoveImagePullSecret removes secret from the ServiceAccount's
// imagePullSecrets if regcred added it (AddedAnnotation) and the entry is
// still regcred's — kubectl-regcred wrote the list last — keeping every
// other entry. A list another manager has written since (a hand edit,
// a GitOps re-apply) may hold the entry as theirs: it is left alone, a
// *ListOwnedError. It reports whether the ServiceAccount changed (or would).
func RemoveImagePullSecret(ctx context.Context, c kubernetes.Interface, namespace, serviceAccount, secret string, dryRun bool) (bool, error) {
	return updateServiceAccount(ctx, c, namespace, serviceAccount, dryRun, func(sa *corev1.ServiceAccount) (bool, error) {
		mine := added(sa)
		if !slices.Contains(mine, secret) || !slices.Contains(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret}) {
			return false, nil
		}
		owners := managers(sa.ManagedFields, `"f:imagePullSecrets"`, anyone)
		if len(owners) > 0 && !slices.ContainsFunc(owners, func(o string) bool { return strings.HasPrefix(o, FieldManager+"/") }) {
			return false, &ListOwnedError{Namespace: namespace, ServiceAccount: serviceAccount, Secret: secret, Managers: owners}
		}
		setAdded(sa, slices.DeleteFunc(mine, func(s string) bool { return s == secret }))
		sa.ImagePullSecrets = slices.DeleteFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == secret })
		return true, nil
	})
}

// ListOwnedError says a ServiceAccount's imagePullSecrets were left alone
// because another manager owns the list. It is a warning, not a failure.
type ListOwnedError struct {
	Namespace, ServiceAccount, Secret string
	Managers                          []string // manager/operation
	Adding                            bool
}

func (e *ListOwnedError) Error() string {
	if e.Adding {
		return fmt.Sprintf("serviceaccount/%s: left alone: %s applies its imagePullSecrets and would take %s out again; add it where that tool's manifests live", e.ServiceAccount, strings.Join(e.Managers, ", "), e.Secret)
	}
	return fmt.Sprintf("serviceaccount/%s: kept %s in imagePullSecrets: %s wrote the list since regcred added it", e.ServiceAccount, e.Secret, strings.Join(e.Managers, ", "))
}

// updateServiceAccount reads the ServiceAccount, lets change edit it and,
// if it did, writes the list and regcred's annotation back with
// server-side apply, forced (the list is atomic: taking it from a manager
// that wrote it with a plain update, as kubectl does, is what adding to it
// means; change refuses lists a GitOps tool applies) and naming the
// resourceVersion it read, redone on a conflict. Applying makes
// kubectl-regcred the list's recorded owner even on a ServiceAccount the
// API server tracked no fields of (one created bare, as "default" is), so a
// later hand edit shows as another owner (see RemoveImagePullSecret).
func updateServiceAccount(ctx context.Context, c kubernetes.Interface, namespace, name string, dryRun bool, change func(*corev1.ServiceAccount) (bool, error)) (bool, error) {
	sas := c.CoreV1().ServiceAccounts(namespace)
	changed := false
	err := onConflict(func() error {
		sa, err := sas.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if changed, err = change(sa); err != nil || !changed {
			return err
		}
		ac := corev1ac.ServiceAccount(name, namespace).WithResourceVersion(sa.ResourceVersion)
		for _, r := range sa.ImagePullSecrets {
			ac.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(r.Name))
		}
		if v := sa.Annotations[AddedAnnotation]; v != "" {
			ac.WithAnnotations(map[string]string{AddedAnnotation: v})
		}
		opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		_, err = sas.Apply(ctx, ac, opts)
		return err
	})
	if notFound(err, "serviceaccounts") {
		return false, errServiceAccountNotFound(namespace, name)
	}
	if err != nil {
		return false, Explain(err, "patch", "serviceaccounts", namespace)
	}
	return changed, nil
}

// CheckServiceAccount returns an error naming the ServiceAccount if it
// does not exist (or cannot be read).
func CheckServiceAccount(ctx context.Context, c kubernetes.Interface, namespace, name string) error {
	_, err := c.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if notFound(err, "serviceaccounts") {
		if _, nsErr := c.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); apierrors.IsNotFound(nsErr) {
			return errNamespaceNotFound(namespace)
		}
		return errServiceAccountNotFound(namespace, name)
	}
	return Explain(err, "get", "serviceaccounts", namespace)
}

func errServiceAccountNotFound(namespace, name string) error {
	return fmt.Errorf("serviceaccount %q not found in namespace %q: create it (kubectl create serviceaccount %s -n %s), or name another with --service-account", name, namespace, name, namespace)
}

// added lists the Secret names regcred added to a ServiceAccount.
func added(sa *corev1.ServiceAccount) []string {
	v := sa.Annotations[AddedAnnotation]
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func setAdded(sa *corev1.ServiceAccount, names []string) {
	if len(names) == 0 {
		delete(sa.Annotations, AddedAnnotation)
		return
	}
	if sa.Annotations == nil {
		sa.Annotations = map[string]string{}
	}
	sa.Annotations[AddedAnnotation] = strings.Join(names, ",")
}

// DeleteOptions tune Delete.
type DeleteOptions struct {
	// Force deletes the Secret whole, whoever manages it and whoever's
	// entries it holds.
	Force bool
	// DryRun sends every write as a server-side dry run.
	DryRun bool
	// Mine reports whether the entry under key, for username, is the
	// caller's: the caller's keyring holds that registry for that user.
	Mine func(key, username string) bool
}

// Removed is what Delete did, or in a dry run would do.
type Removed struct {
	Outcome Outcome
	Changes []Change // per entry, when entries were removed and others kept
}

// Delete takes the caller's entries out of the dockerconfigjson Secret
// name. It deletes the Secret itself only when regcred alone manages it
// (kubectl-regcred is its only field manager) and every entry is the
// caller's; when others' entries are left it removes just the caller's,
// with the same conflict retry as Write. A Secret another tool manages and
// that holds none of the caller's entries is a NotOursError. Force deletes
// the Secret whole. A deletion names the UID it inspected.
func Delete(ctx context.Context, c kubernetes.Interface, namespace, name string, opts DeleteOptions) (Removed, error) {
	secrets := c.CoreV1().Secrets(namespace)
	var dryRun []string
	if opts.DryRun {
		dryRun = []string{metav1.DryRunAll}
	}
	var r Removed
	err := onConflict(func() error {
		s, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			r = Removed{Outcome: NotFound}
			return nil
		}
		if err != nil {
			return Explain(err, "get", "secrets", namespace)
		}
		auths, perr := ParseAuths(s.Data[corev1.DockerConfigJsonKey])
		if s.Type != corev1.SecretTypeDockerConfigJson || perr != nil {
			auths = nil
		}
		kept := Auths{}
		var changes []Change
		for k, v := range auths {
			e, err := decodeEntry(v)
			if err == nil && opts.Mine != nil && opts.Mine(k, e.Username) {
				changes = append(changes, Change{k, Remove})
				continue
			}
			kept[k] = v
			changes = append(changes, Change{k, Keep})
		}
		sort.Slice(changes, func(i, j int) bool { return changes[i].Key < changes[j].Key })
		ours := onlyOurs(s)
		switch {
		case opts.Force || ours && len(kept) == 0:
			r.Outcome, err = deleteExactly(ctx, secrets, s, dryRun)
			return err
		case len(kept) == len(auths) && !ours:
			return &NotOursError{Namespace: namespace, Name: name, Managers: strings.Join(managers(s.ManagedFields, "", anyone), ", ")}
		case len(kept) == len(auths):
			return &NotOursError{Namespace: namespace, Name: name, Entries: len(auths)}
		}
		data, err := kept.JSON()
		if err != nil {
			return err
		}
		upd := s.DeepCopy()
		upd.Data[corev1.DockerConfigJsonKey] = data
		if _, err := secrets.Update(ctx, upd, metav1.UpdateOptions{FieldManager: FieldManager, DryRun: dryRun}); err != nil {
			return err
		}
		r = Removed{Outcome: Configured, Changes: changes}
		if opts.DryRun {
			r.Outcome = WouldUpdate
		}
		return nil
	})
	if apierrors.IsConflict(err) {
		return r, fmt.Errorf("secret %s/%s: other writers kept changing it; re-run to remove your entries from the latest", namespace, name)
	}
	if err != nil {
		return r, Explain(err, "update", "secrets", namespace)
	}
	return r, nil
}

// deleteExactly deletes s, and no Secret that replaced it meanwhile.
func deleteExactly(ctx context.Context, secrets typedcorev1.SecretInterface, s *corev1.Secret, dryRun []string) (Outcome, error) {
	uid := s.UID
	err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, DryRun: dryRun})
	switch {
	case apierrors.IsNotFound(err):
		return NotFound, nil
	case err != nil:
		return "", Explain(err, "delete", "secrets", s.Namespace)
	case len(dryRun) > 0:
		return WouldDelete, nil
	}
	return Deleted, nil
}

// NotOursError is Delete's refusal to touch a Secret that holds none of
// the caller's entries: another tool's (Managers), or regcred's holding
// only others' entries (Entries).
type NotOursError struct {
	Namespace, Name string
	Managers        string // the field managers of another tool's Secret, comma-separated
	Entries         int    // or the number of others' entries in regcred's
}

func (e *NotOursError) Error() string {
	if e.Managers == "" {
		return fmt.Sprintf("secret %s/%s holds none of your registries (%d %s from other keyrings); use --force to delete it anyway", e.Namespace, e.Name, e.Entries, pluralEntries(e.Entries))
	}
	return fmt.Sprintf("secret %s/%s is not managed by %s (managers: %s); use --force to delete it anyway", e.Namespace, e.Name, FieldManager, e.Managers)
}

func pluralEntries(n int) string {
	if n == 1 {
		return "entry"
	}
	return "entries"
}

// onlyOurs reports whether kubectl-regcred is the Secret's only field
// manager, for every field: a Secret another tool made keeps that tool's
// entry (for its type, at least) even after --force wrote its data.
func onlyOurs(s *corev1.Secret) bool {
	return len(s.ManagedFields) > 0 && len(managers(s.ManagedFields, "", others)) == 0
}

// Explain turns an API error into one line that says what to do: a missing
// namespace, an RBAC refusal (naming verb, resource and namespace), an
// unreachable server.
//
// A 403 is not always RBAC: a namespace being deleted, an exhausted
// ResourceQuota and an admission webhook's denial each get their own line.
func Explain(err error, verb, resource, namespace string) error {
	var status apierrors.APIStatus
	msg := ""
	if errors.As(err, &status) {
		msg = status.Status().Message
	}
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) || strings.Contains(msg, "because it is being terminated"):
		return fmt.Errorf("namespace %q is being deleted: nothing can be written there until it is gone (or choose another namespace)", namespace)
	case strings.Contains(msg, "exceeded quota"):
		_, detail, _ := strings.Cut(msg, "exceeded quota: ")
		return fmt.Errorf("namespace %q is out of quota: its ResourceQuota allows no more %s (exceeded quota: %s); raise the quota or free some", namespace, resource, detail)
	case strings.Contains(msg, "admission webhook"):
		return fmt.Errorf("an admission webhook refused to let you %s %s in namespace %q: %s", verb, resource, namespace, msg)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("forbidden: you may not %s %s in namespace %q (ask for RBAC permission to %s %s): %w", verb, resource, namespace, verb, resource, err)
	case notFound(err, "namespaces"):
		return errNamespaceNotFound(namespace)
	}
	return err
}

// notFound reports whether err is the API server's NotFound for an object
// of resource kind (e.g. "namespaces" when a namespaced create finds no
// namespace, as opposed to the object itself missing).
func notFound(err error, kind string) bool {
	var status apierrors.APIStatus
	return apierrors.IsNotFound(err) && errors.As(err, &status) &&
		status.Status().Details != nil && status.Status().Details.Kind == kind
}

func errNamespaceNotFound(namespace string) error {
	return fmt.Errorf("namespace %q not found: create it first, or pick another with -n", namespace)
}
