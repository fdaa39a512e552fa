package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"

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

// Outcomes, in kubectl's words.
const (
	Created    Outcome = "created"
	Configured Outcome = "configured"
	Unchanged  Outcome = "unchanged"
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
	switch {
	case old == nil:
		return got, Created, nil
	case old.ResourceVersion == got.ResourceVersion:
		return got, Unchanged, nil
	default:
		return got, Configured, nil
	}
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

// AddImagePullSecret adds secret to the ServiceAccount's imagePullSecrets,
// keeping the entries it has and adding no duplicate. imagePullSecrets is
// an atomic list (a patch would replace it whole, kubernetes#72475), so this
// reads, appends and updates, retrying on a write conflict. It reports
// whether the ServiceAccount changed.
func AddImagePullSecret(ctx context.Context, c kubernetes.Interface, namespace, serviceAccount, secret string, dryRun bool) (bool, error) {
	sas := c.CoreV1().ServiceAccounts(namespace)
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sa, err := sas.Get(ctx, serviceAccount, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if slices.Contains(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret}) {
			changed = false
			return nil
		}
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret})
		opts := metav1.UpdateOptions{FieldManager: FieldManager}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		_, err = sas.Update(ctx, sa, opts)
		changed = err == nil
		return err
	})
	if err != nil {
		return false, Explain(err, "update", "serviceaccounts", namespace)
	}
	return changed, nil
}

// Explain turns an API error into one line that says what to do: a missing
// namespace, an RBAC refusal (naming verb, resource and namespace), an
// unreachable server.
func Explain(err error, verb, resource, namespace string) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("forbidden: you may not %s %s in namespace %q (ask for RBAC permission to %s %s): %w", verb, resource, namespace, verb, resource, err)
	case apierrors.IsNotFound(err):
		var status apierrors.APIStatus
		if errors.As(err, &status) && status.Status().Details != nil && status.Status().Details.Kind == "namespaces" {
			return fmt.Errorf("namespace %q not found: create it first, or pick another with -n", namespace)
		}
		return err
	}
	return err
}
