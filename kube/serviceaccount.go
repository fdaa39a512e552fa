package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

// AddImagePullSecret adds secret to the ServiceAccount's imagePullSecrets,
// keeping the entries it has and adding no duplicate, and notes the entry as
// regcred's (AddedAnnotation) when it added it. imagePullSecrets is an
// atomic list (a patch would replace it whole, kubernetes#72475), so this
// reads, appends and updates, retrying on a write conflict. A list another
// tool applies (GitOps: Argo CD, Flux, kubectl apply --server-side) is
// left alone, a *ListOwnedError: that tool would take the entry out again
// on its next sync, and the two would flap. It reports whether the
// ServiceAccount changed (or, in a dry run, would).
func AddImagePullSecret(ctx context.Context, c kubernetes.Interface, namespace, serviceAccount, secret string, opts SAOptions) (bool, error) {
	return updateServiceAccount(ctx, c, namespace, serviceAccount, opts, func(sa *corev1.ServiceAccount) (bool, error) {
		if slices.Contains(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret}) {
			return false, nil
		}
		if appliers := appliedBy(sa); len(appliers) > 0 {
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
func RemoveImagePullSecret(ctx context.Context, c kubernetes.Interface, namespace, serviceAccount, secret string, opts SAOptions) (bool, error) {
	return updateServiceAccount(ctx, c, namespace, serviceAccount, opts, func(sa *corev1.ServiceAccount) (bool, error) {
		mine := added(sa)
		if !slices.Contains(mine, secret) || !slices.Contains(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret}) {
			return false, nil
		}
		// Removal takes the list whole (it is atomic): only when regcred
		// alone owns it. A co-owner — a GitOps tool that applies the same
		// list, a hand edit since — would lose its entry, or its ownership.
		if owners := managers(sa.ManagedFields, `"f:imagePullSecrets"`, others); len(owners) > 0 {
			return false, &ListOwnedError{Namespace: namespace, ServiceAccount: serviceAccount, Secret: secret, Managers: owners}
		}
		if appliers := appliedBy(sa); len(appliers) > 0 {
			return false, &ListOwnedError{Namespace: namespace, ServiceAccount: serviceAccount, Secret: secret, Managers: appliers}
		}
		setAdded(sa, slices.DeleteFunc(mine, func(s string) bool { return s == secret }))
		sa.ImagePullSecrets = slices.DeleteFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == secret })
		return true, nil
	})
}

// SAOptions tune AddImagePullSecret and RemoveImagePullSecret.
type SAOptions struct {
	// DryRun sends the write as a server-side dry run.
	DryRun bool
	// Listed, when set, is the ServiceAccount as a LIST just returned it,
	// read in place of the first attempt's GET.
	Listed *Listed[corev1.ServiceAccount]
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
func updateServiceAccount(ctx context.Context, c kubernetes.Interface, namespace, name string, o SAOptions, change func(*corev1.ServiceAccount) (bool, error)) (bool, error) {
	sas := c.CoreV1().ServiceAccounts(namespace)
	changed := false
	read := o.Listed.first("serviceaccounts", name, func() (*corev1.ServiceAccount, error) { return sas.Get(ctx, name, metav1.GetOptions{}) })
	err := onConflict(func() error {
		sa, err := read()
		if notFound(err, "serviceaccounts") {
			return err
		}
		if err != nil {
			return Explain(err, "get", "serviceaccounts", namespace)
		}
		sa = sa.DeepCopy() // change edits it; a listed one is the caller's
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
		if o.DryRun {
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
	return &Refused{Namespace: namespace, Name: name, Remedy: OtherServiceAccount,
		Err: fmt.Errorf("serviceaccount %q not found in namespace %q: create it (kubectl create serviceaccount %s -n %s)", name, namespace, name, namespace)}
}

// added lists the Secret names regcred added to a ServiceAccount.
// appliedBy names the tools that apply the ServiceAccount's
// imagePullSecrets from manifests of their own, and would put their list
// back at the next sync: server-side appliers (Flux, Argo CD with
// server-side apply, kubectl apply --server-side), and client-side ones
// (kubectl apply, Argo CD's default), which record the list they applied
// in kubectl's last-applied-configuration annotation.
func appliedBy(sa *corev1.ServiceAccount) []string {
	out := managers(sa.ManagedFields, `"f:imagePullSecrets"`, func(m metav1.ManagedFieldsEntry) bool {
		return m.Operation == metav1.ManagedFieldsOperationApply && others(m)
	})
	if strings.Contains(sa.Annotations[corev1.LastAppliedConfigAnnotation], `"imagePullSecrets"`) {
		by := managers(sa.ManagedFields, `"f:imagePullSecrets"`, others)
		if len(by) == 0 {
			by = []string{"kubectl apply"}
		}
		for _, m := range by {
			if !slices.Contains(out, m) {
				out = append(out, m+" (last-applied-configuration)")
			}
		}
	}
	return out
}

// AddedBy reports whether regcred added secret to the ServiceAccount's
// imagePullSecrets (its AddedAnnotation names it): the only ones delete
// has to change.
func AddedBy(sa *corev1.ServiceAccount, secret string) bool {
	return slices.Contains(added(sa), secret)
}

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
