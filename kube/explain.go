package kube

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Explain turns an API error into one line that says what to do: a missing
// namespace, an RBAC refusal (naming verb, resource and namespace), an
// unreachable server.
//
// A 403 is not always RBAC: a namespace being deleted, an exhausted
// ResourceQuota and an admission webhook's denial each get their own line.
func Explain(err error, verb, resource, namespace string) error {
	var done *explained
	if errors.As(err, &done) {
		return err // explained where it happened, with that request's verb
	}
	if e := explain(err, verb, resource, namespace); e != err {
		return &explained{e}
	}
	return err
}

// explained is an error Explain has worded.
type explained struct{ err error }

func (e *explained) Error() string { return e.err.Error() }
func (e *explained) Unwrap() error { return e.err }

// explain is Explain's wording of err, or err itself.
func explain(err error, verb, resource, namespace string) error {
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

// Refused is a write kube did not make because the user must choose:
// Remedy names the choice that clears the way, which the command line
// words as its own flag (kube's messages name no flag).
type Refused struct {
	Namespace, Name string // the Secret's or ServiceAccount's
	Remedy          Remedy
	Err             error // what was refused, and why
}

func (e *Refused) Error() string { return e.Err.Error() }
func (e *Refused) Unwrap() error { return e.Err }

// Remedy is the choice that makes a Refused write go through.
type Remedy int

// The remedies.
const (
	// Prune: fewer registries, or dropping entries none of the user's.
	Prune Remedy = iota + 1
	// OtherName: another Secret name, or deleting the Secret there first.
	OtherName
	// ForceMerge: adding the user's entries to a Secret others manage.
	ForceMerge
	// ForceReplace: replacing content that cannot be read.
	ForceReplace
	// OtherServiceAccount: naming another ServiceAccount.
	OtherServiceAccount
	// ForceTakeOver: replacing the entry another account wrote for the
	// same registry.
	ForceTakeOver
)
