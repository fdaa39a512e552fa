package plugin

import (
	"context"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/regcred/regcred/kube"
)

// snapshot is what one LIST of each kind read across the namespaces -A
// or a selector found in one context: the Secrets of the command's name
// and the ServiceAccounts. A target it covers reads nothing on its own:
// each write names the resourceVersion the LIST returned (an item's own),
// so a change since is a conflict and the retry reads afresh — the
// guarantees of reading each object first, with one request per kind
// instead of one per object, and none at all for a target that needs no
// change. A kind whose LIST fails (a role in some namespaces only may not
// list across them) is read per target, as without a snapshot.
type snapshot struct {
	secrets map[string]*corev1.Secret                    // by namespace; nil: not listed
	sas     map[string]map[string]*corev1.ServiceAccount // by namespace, then name; nil: not listed
}

// snapshotOf lists, with one request each, the Secrets named name and —
// when withSAs — the ServiceAccounts (only those named, if any are) of
// the targets in context kctx.
func snapshotOf(ctx context.Context, c kubernetes.Interface, kctx string, targets []target, name string, withSAs bool, saNames []string) *snapshot {
	in := map[string]bool{}
	for _, t := range targets {
		if t.context == kctx {
			in[t.namespace] = true
		}
	}
	s := &snapshot{}
	byName := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	if list, err := c.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, byName); err == nil {
		s.secrets = map[string]*corev1.Secret{}
		for i := range list.Items {
			if it := &list.Items[i]; it.Name == name && in[it.Namespace] {
				s.secrets[it.Namespace] = it
			}
		}
	}
	if !withSAs {
		return s
	}
	opts := metav1.ListOptions{}
	if len(saNames) == 1 {
		opts.FieldSelector = fields.OneTermEqualSelector("metadata.name", saNames[0]).String()
	}
	if list, err := c.CoreV1().ServiceAccounts(metav1.NamespaceAll).List(ctx, opts); err == nil {
		s.sas = map[string]map[string]*corev1.ServiceAccount{}
		for ns := range in {
			s.sas[ns] = map[string]*corev1.ServiceAccount{}
		}
		for i := range list.Items {
			it := &list.Items[i]
			if in[it.Namespace] && (len(saNames) == 0 || slices.Contains(saNames, it.Name)) {
				s.sas[it.Namespace][it.Name] = it
			}
		}
	}
	return s
}

// secret is the listed Secret of a namespace, for a write's first read;
// nil without a snapshot.
func (s *snapshot) secret(namespace string) *kube.Listed[corev1.Secret] {
	if s == nil || s.secrets == nil {
		return nil
	}
	return &kube.Listed[corev1.Secret]{Object: s.secrets[namespace]}
}

// serviceAccountNames returns the names of a namespace's listed
// ServiceAccounts, sorted; ok is false where they were not listed.
func (s *snapshot) serviceAccountNames(namespace string) (names []string, ok bool) {
	if s == nil || s.sas == nil {
		return nil, false
	}
	for n := range s.sas[namespace] {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, true
}

// serviceAccount is a listed ServiceAccount, for a write's first read;
// nil where it was not listed (the write then reads it, and a missing one
// is named as missing).
func (s *snapshot) serviceAccount(namespace, name string) *kube.Listed[corev1.ServiceAccount] {
	if s == nil || s.sas == nil || s.sas[namespace][name] == nil {
		return nil
	}
	return &kube.Listed[corev1.ServiceAccount]{Object: s.sas[namespace][name]}
}

// snapshots takes a snapshot of each context's targets when the
// namespaces were found (-A, a selector), where one LIST across them
// replaces a read in each; named namespaces are read one by one (a LIST
// across the cluster reads far more than a few namespaces hold, and a
// role in those namespaces alone may not make it).
func (o *options) snapshots(ctx context.Context, f *targetFlags, targets []target, withSAs bool) map[string]*snapshot {
	if !f.broad() {
		return nil
	}
	out := map[string]*snapshot{}
	for _, kctx := range o.contextList() {
		c, err := o.clientCache().get(o, kctx)
		if err != nil {
			continue // the targets report it
		}
		names := f.serviceAccounts
		if f.allServiceAccounts {
			names = nil
		}
		out[kctx] = snapshotOf(ctx, c, kctx, targets, o.name, withSAs, names)
	}
	return out
}
