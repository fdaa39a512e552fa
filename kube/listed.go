package kube

import (
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Listed is an object as a LIST just returned it. Given to a write, it
// stands in for the GET of the write's first attempt (Object nil: the
// LIST did not hold it, which reads as NotFound). Nothing else changes:
// the write names the resourceVersion the object carries (a LIST's
// resourceVersion is each item's own), so a change since the LIST is a
// conflict, and the retry reads the object afresh. A nil *Listed leaves
// the GET in place.
type Listed[T any] struct{ Object *T }

// first returns the read a write's attempts make: the listed object on
// the first, get on every later one (and on all, for a nil l).
func (l *Listed[T]) first(resource, name string, get func() (*T, error)) func() (*T, error) {
	used := l == nil
	return func() (*T, error) {
		if used {
			return get()
		}
		used = true
		if l.Object == nil {
			return nil, apierrors.NewNotFound(corev1.Resource(resource), name)
		}
		return l.Object, nil
	}
}
