package kube

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// FieldManager is the server-side apply field manager regcred writes as.
const FieldManager = "kubectl-regcred"

// DefaultSecretName is the Secret name used unless --name says otherwise.
const DefaultSecretName = "regcred"

// MaxSecretSize is the API server's limit on a Secret's data.
const MaxSecretSize = 1 << 20

// Outcome is what applying did to a Secret.
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

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Force takes over fields other managers own and replaces a Secret of
	// another type. Without it both are refused.
	Force bool
	// DryRun sends every write as a server-side dry run.
	DryRun bool
}

// Apply writes the dockerconfigjson Secret with server-side apply. An
// unchanged Secret is left untouched (its resourceVersion does not move).
// It never clobbers silently: a Secret of another type, or a field another
// manager owns with another value, is an error naming --force.
func Apply(ctx context.Context, c kubernetes.Interface, namespace, name string, data []byte, opts ApplyOptions) (*corev1.Secret, Outcome, error) {
	if len(data) > MaxSecretSize {
		return nil, "", fmt.Errorf("secret %s/%s: %w (%d bytes); export fewer registries per Secret", namespace, name, ErrTooLarge, len(data))
	}
	secrets := c.CoreV1().Secrets(namespace)
	var dryRun []string
	if opts.DryRun {
		dryRun = []string{metav1.DryRunAll}
	}
	old, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		old = nil
	case err != nil:
		return nil, "", Explain(err, "get", "secrets", namespace)
	case old.Type != corev1.SecretTypeDockerConfigJson:
		if !opts.Force {
			return nil, "", fmt.Errorf("secret %s/%s already exists with type %q, not %q; use another --name, or --force to replace it",
				namespace, name, old.Type, corev1.SecretTypeDockerConfigJson)
		}
		// The type is immutable: replace the Secret, but only the one we looked at.
		uid := old.UID
		if err := secrets.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, DryRun: dryRun}); err != nil {
			return nil, "", Explain(err, "delete", "secrets", namespace)
		}
		old = nil
	}
	ac := corev1ac.Secret(name, namespace).
		WithType(corev1.SecretTypeDockerConfigJson).
		WithData(map[string][]byte{corev1.DockerConfigJsonKey: data})
	got, err := secrets.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: opts.Force, DryRun: dryRun})
	if apierrors.IsConflict(err) {
		return nil, "", fmt.Errorf("secret %s/%s: its data is managed by another field manager (%s); re-run with --force to take it over",
			namespace, name, conflictManagers(err))
	}
	if err != nil {
		return nil, "", Explain(err, "patch", "secrets", namespace)
	}
	return got, outcome(old, got, opts.DryRun), nil
}

// outcome says what applying did, or in a dry run would do. A dry run's
// answer keeps the stored resourceVersion whatever it would change, so
// there the data, type and field managers are compared instead.
func outcome(old, got *corev1.Secret, dryRun bool) Outcome {
	switch {
	case old == nil && dryRun:
		return WouldCreate
	case old == nil:
		return Created
	case !dryRun && old.ResourceVersion == got.ResourceVersion:
		return Unchanged
	case !dryRun:
		return Configured
	case old.Type == got.Type && reflect.DeepEqual(old.Data, got.Data) && managersOf(old) == managersOf(got):
		return Unchanged
	default:
		return WouldUpdate
	}
}

// managersOf lists an object's field managers and their operations.
func managersOf(s *corev1.Secret) string {
	var b strings.Builder
	for _, m := range s.ManagedFields {
		fmt.Fprintf(&b, "%s/%s;", m.Manager, m.Operation)
	}
	return b.String()
}

// conflictManagers names the managers in a server-side apply conflict.
func conflictManagers(err error) string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return err.Error()
	}
	var names []string
	for _, c := range status.Status().Details.Causes {
		names = append(names, c.Message)
	}
	if len(names) == 0 {
		return status.Status().Message
	}
	return fmt.Sprint(names)
}

// AddedAnnotation, on a ServiceAccount, lists the imagePullSecrets entries
// regcred added (comma-separated Secret names), so that delete removes those
// and never an entry someone else made.
const AddedAnnotation = "kubectl-regcred/added-image-pull-secrets"

// AddImagePullSecret adds secret to the ServiceAccount's imagePullSecrets,
// keeping the entries it has and adding no duplicate, and notes the entry as
// regcred's (AddedAnnotation) when it added it. imagePullSecrets is an
// atomic list (a patch would replace it whole, kubernetes#72475), so this
// reads, appends and updates, retrying on a write conflict. It reports
// whether the ServiceAccount changed (or, in a dry run, would).
func AddImagePullSecret(ctx context.Context, c kubernetes.Interface, namespace, serviceAccount, secret string, dryRun bool) (bool, error) {
	return updateServiceAccount(ctx, c, namespace, serviceAccount, dryRun, func(sa *corev1.ServiceAccount) bool {
		if slices.Contains(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret}) {
			return false
		}
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret})
		setAdded(sa, append(added(sa), secret))
		return true
	})
}

// RemoveImagePullSecret removes secret from the ServiceAccount's
// imagePullSecrets if regcred added it (AddedAnnotation), keeping every
// other entry. It reports whether the ServiceAccount changed (or would).
func RemoveImagePullSecret(ctx context.Context, c kubernetes.Interface, namespace, serviceAccount, secret string, dryRun bool) (bool, error) {
	return updateServiceAccount(ctx, c, namespace, serviceAccount, dryRun, func(sa *corev1.ServiceAccount) bool {
		mine := added(sa)
		if !slices.Contains(mine, secret) {
			return false
		}
		setAdded(sa, slices.DeleteFunc(mine, func(s string) bool { return s == secret }))
		sa.ImagePullSecrets = slices.DeleteFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == secret })
		return true
	})
}

// updateServiceAccount reads the ServiceAccount, lets change edit it and,
// if it did, writes it back, retrying on a write conflict.
func updateServiceAccount(ctx context.Context, c kubernetes.Interface, namespace, name string, dryRun bool, change func(*corev1.ServiceAccount) bool) (bool, error) {
	sas := c.CoreV1().ServiceAccounts(namespace)
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sa, err := sas.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if changed = change(sa); !changed {
			return nil
		}
		opts := metav1.UpdateOptions{FieldManager: FieldManager}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		_, err = sas.Update(ctx, sa, opts)
		return err
	})
	if notFound(err, "serviceaccounts") {
		return false, errServiceAccountNotFound(namespace, name)
	}
	if err != nil {
		return false, Explain(err, "update", "serviceaccounts", namespace)
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
	// Force deletes a Secret regcred does not manage.
	Force bool
	// DryRun sends the deletion as a server-side dry run.
	DryRun bool
}

// Delete deletes the dockerconfigjson Secret name if regcred manages it —
// kubectl-regcred is the field manager of its data — or with Force. It
// deletes exactly the Secret it inspected (a UID precondition).
func Delete(ctx context.Context, c kubernetes.Interface, namespace, name string, opts DeleteOptions) (Outcome, error) {
	secrets := c.CoreV1().Secrets(namespace)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return NotFound, nil
	}
	if err != nil {
		return "", Explain(err, "get", "secrets", namespace)
	}
	if !opts.Force && !managedByUs(s) {
		return "", &NotOursError{Namespace: namespace, Name: name, Managers: strings.TrimSuffix(strings.ReplaceAll(managersOf(s), ";", ", "), ", ")}
	}
	uid := s.UID
	del := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}
	if opts.DryRun {
		del.DryRun = []string{metav1.DryRunAll}
	}
	if err := secrets.Delete(ctx, name, del); err != nil {
		if apierrors.IsNotFound(err) {
			return NotFound, nil
		}
		return "", Explain(err, "delete", "secrets", namespace)
	}
	if opts.DryRun {
		return WouldDelete, nil
	}
	return Deleted, nil
}

// NotOursError is Delete's refusal of a Secret another manager writes.
type NotOursError struct {
	Namespace, Name string
	Managers        string // the managers of its data, comma-separated
}

func (e *NotOursError) Error() string {
	return fmt.Sprintf("secret %s/%s is not managed by %s (managers: %s); use --force to delete it anyway", e.Namespace, e.Name, FieldManager, e.Managers)
}

// managedByUs reports whether kubectl-regcred manages the Secret's data and
// no other manager does.
func managedByUs(s *corev1.Secret) bool {
	ours := false
	for _, m := range s.ManagedFields {
		if m.FieldsV1 == nil || !strings.Contains(string(m.FieldsV1.Raw), `"f:data"`) {
			continue
		}
		if m.Manager != FieldManager {
			return false
		}
		ours = true
	}
	return ours
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
