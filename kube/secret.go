package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/regcred/regcred/kube/dockerconfig"
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
	// BeforeWrite, when set, is called after an existing Secret is read and
	// before it is updated: the point a concurrent writer races, where
	// fault tests pause.
	BeforeWrite func()
	// Listed, when set, is the Secret as a LIST just returned it, read
	// in place of the first attempt's GET.
	Listed *Listed[corev1.Secret]
}

// Written is what Write did, or in a dry run would do.
type Written struct {
	Secret  *corev1.Secret
	Outcome Outcome
	Changes []dockerconfig.Change // per entry, sorted by key
}

// conflictBackoff spaces the retries of a write that lost a race with
// another writer of the same Secret; each retry reads the Secret again.
var conflictBackoff = wait.Backoff{Steps: 12, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1}

// onConflict runs fn again, after a pause, while it fails with a write
// conflict (or a create that another writer's create beat, or an update
// of an object deleted since it was read), at most
// conflictBackoff.Steps times; it returns fn's last error. (client-go's
// retry.OnError would return nil for a request that timed out, which
// wait.Interrupted takes for its own deadline.)
func onConflict(fn func() error) error {
	b := conflictBackoff
	for {
		err := fn()
		if err == nil || !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) && !errors.Is(err, errGone) || b.Steps <= 1 {
			return err
		}
		time.Sleep(b.Step())
	}
}

// errGone is an update's NotFound: the object was deleted after it was
// read, and the write is redone from the read.
var errGone = errors.New("deleted since it was read")

// Write merges ours into the dockerconfigjson Secret name/namespace (see
// Merge): it creates the Secret, or updates it keeping every entry it does
// not write (unless Prune). It never clobbers: each update names the
// resourceVersion it read and is redone on a conflict, so concurrent
// writers all land; a Secret of another type is refused with the command
// that would clear the way; data another field manager owns, or content
// that is not a .dockerconfigjson, is refused without Force. An unchanged
// Secret is not written (its resourceVersion does not move).
func Write(ctx context.Context, c kubernetes.Interface, namespace, name string, ours dockerconfig.Auths, opts WriteOptions) (Written, error) {
	secrets := c.CoreV1().Secrets(namespace)
	var dryRun []string
	if opts.DryRun {
		dryRun = []string{metav1.DryRunAll}
	}
	var w Written
	read := opts.Listed.first("secrets", name, func() (*corev1.Secret, error) { return secrets.Get(ctx, name, metav1.GetOptions{}) })
	err := onConflict(func() error {
		old, err := read()
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
		if taken := othersAccounts(existing, ours); len(taken) > 0 && !opts.Force {
			return &Refused{Namespace: namespace, Name: name, Remedy: ForceTakeOver,
				Err: fmt.Errorf("secret %s/%s: another account's entry is there for %s; an export replaces only the entries of the account it writes (as delete removes only those)", namespace, name, strings.Join(taken, ", "))}
		}
		merged, changes := dockerconfig.Merge(existing, ours, opts.Prune)
		data, err := dockerconfig.WithAuths(old.Data[corev1.DockerConfigJsonKey], merged)
		if err != nil {
			return err
		}
		if len(data) > MaxSecretSize {
			return &Refused{Namespace: namespace, Name: name, Remedy: Prune,
				Err: fmt.Errorf("secret %s/%s: %w (%d bytes with the entries it keeps)", namespace, name, ErrTooLarge, len(data))}
		}
		w.Changes = changes
		if bytes.Equal(data, old.Data[corev1.DockerConfigJsonKey]) {
			w.Secret, w.Outcome = old, Unchanged
			return nil
		}
		upd := old.DeepCopy()
		upd.Data[corev1.DockerConfigJsonKey] = data
		if opts.BeforeWrite != nil {
			opts.BeforeWrite()
		}
		got, err := secrets.Update(ctx, upd, metav1.UpdateOptions{FieldManager: FieldManager, DryRun: dryRun})
		if apierrors.IsNotFound(err) {
			return errGone // deleted since it was read: read again, and create it
		}
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
func (w *Written) create(ctx context.Context, secrets typedcorev1.SecretInterface, namespace, name string, ours dockerconfig.Auths, dryRun []string) error {
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
		w.Changes = append(w.Changes, dockerconfig.Change{Key: k, Action: dockerconfig.Add})
	}
	sort.Slice(w.Changes, func(i, j int) bool { return w.Changes[i].Key < w.Changes[j].Key })
	return nil
}

// othersAccounts lists, as "registry (username)", the existing entries
// that one of ours would replace and that hold another account: an entry
// is the account's that wrote it, for export as for delete (see Mine).
func othersAccounts(existing, ours dockerconfig.Auths) []string {
	var out []string
	for k, v := range existing {
		for ok, ov := range ours {
			if dockerconfig.SecretKey(k) != dockerconfig.SecretKey(ok) {
				continue
			}
			e, err1 := dockerconfig.ParseEntry(k, v)
			o, err2 := dockerconfig.ParseEntry(ok, ov)
			if err1 == nil && err2 == nil && e.Username != o.Username {
				out = append(out, fmt.Sprintf("%s (%s)", k, e.Username))
			}
		}
	}
	sort.Strings(out)
	return out
}

// writable returns the entries of an existing Secret Write may merge into,
// or the error that says why it may not.
func writable(old *corev1.Secret, force bool) (dockerconfig.Auths, error) {
	if old.Type != corev1.SecretTypeDockerConfigJson {
		return nil, &Refused{Namespace: old.Namespace, Name: old.Name, Remedy: OtherName,
			Err: fmt.Errorf("secret %s/%s already exists with type %q, not %q, and a Secret's type cannot change", old.Namespace, old.Name, old.Type, corev1.SecretTypeDockerConfigJson)}
	}
	if owners := managers(old.ManagedFields, `"f:data"`, others); len(owners) > 0 && !force {
		return nil, &Refused{Namespace: old.Namespace, Name: old.Name, Remedy: ForceMerge,
			Err: fmt.Errorf("secret %s/%s: its data is managed by another field manager (%s)", old.Namespace, old.Name, strings.Join(owners, ", "))}
	}
	existing, err := dockerconfig.ParseAuths(old.Data[corev1.DockerConfigJsonKey])
	if err != nil && !force {
		return nil, &Refused{Namespace: old.Namespace, Name: old.Name, Remedy: ForceReplace,
			Err: fmt.Errorf("secret %s/%s: %w", old.Namespace, old.Name, err)}
	}
	if err != nil {
		existing = dockerconfig.Auths{}
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
