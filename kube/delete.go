package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/regcred/regcred/kube/dockerconfig"
)

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
	// BeforeWrite, when set, is called after the Secret is read and before
	// it is trimmed or deleted: the point a concurrent writer races, where
	// fault tests pause.
	BeforeWrite func()
	// Listed, when set, is the Secret as a LIST just returned it, read
	// in place of the first attempt's GET.
	Listed *Listed[corev1.Secret]
}

// Removed is what Delete did, or in a dry run would do.
type Removed struct {
	Outcome Outcome
	Changes []dockerconfig.Change // per entry, when entries were removed and others kept
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
	read := opts.Listed.first("secrets", name, func() (*corev1.Secret, error) { return secrets.Get(ctx, name, metav1.GetOptions{}) })
	err := onConflict(func() error {
		s, err := read()
		if apierrors.IsNotFound(err) {
			r = Removed{Outcome: NotFound}
			return nil
		}
		if err != nil {
			return Explain(err, "get", "secrets", namespace)
		}
		auths, perr := dockerconfig.ParseAuths(s.Data[corev1.DockerConfigJsonKey])
		if s.Type != corev1.SecretTypeDockerConfigJson || perr != nil {
			auths = nil
		}
		kept := dockerconfig.Auths{}
		var changes []dockerconfig.Change
		for k, v := range auths {
			e, err := dockerconfig.ParseEntry(k, v)
			if err == nil && opts.Mine != nil && opts.Mine(k, e.Username) {
				changes = append(changes, dockerconfig.Change{Key: k, Action: dockerconfig.Remove})
				continue
			}
			kept[k] = v
			changes = append(changes, dockerconfig.Change{Key: k, Action: dockerconfig.Keep})
		}
		sort.Slice(changes, func(i, j int) bool { return changes[i].Key < changes[j].Key })
		ours := onlyOurs(s)
		owners := managers(s.ManagedFields, `"f:data"`, others)
		wrote := len(managers(s.ManagedFields, `"f:data"`, func(m metav1.ManagedFieldsEntry) bool { return !others(m) })) > 0
		if len(owners) > 0 && !wrote && !opts.Force && len(kept) < len(auths) {
			// Another tool wrote this data (a Helm release holding a
			// shared robot account's entry) and regcred never wrote into
			// it: the entry is that tool's, which would put it back — as
			// export refuses to write there without force. Where an
			// export --force wrote into it, the user's entries come out.
			return &NotOursError{Namespace: namespace, Name: name, Managers: strings.Join(owners, ", "), Trim: true}
		}
		if opts.BeforeWrite != nil {
			opts.BeforeWrite()
		}
		switch {
		case opts.Force || ours && len(kept) == 0:
			r.Outcome, err = deleteExactly(ctx, secrets, s, dryRun)
			return err
		case len(kept) == len(auths) && !ours:
			return &NotOursError{Namespace: namespace, Name: name, Managers: strings.Join(managers(s.ManagedFields, "", anyone), ", ")}
		case len(kept) == len(auths):
			return &NotOursError{Namespace: namespace, Name: name, Entries: len(auths)}
		}
		data, err := dockerconfig.WithAuths(s.Data[corev1.DockerConfigJsonKey], kept)
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

// deleteExactly deletes s as it was read: not a Secret that replaced it,
// nor one a teammate's export changed meanwhile (a Conflict, on which
// Delete reads it again and keeps their entries).
func deleteExactly(ctx context.Context, secrets typedcorev1.SecretInterface, s *corev1.Secret, dryRun []string) (Outcome, error) {
	uid, rv := s.UID, s.ResourceVersion
	err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}, DryRun: dryRun})
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
	// Trim says the Secret holds entries of the caller's, in data another
	// tool writes: that tool's to take out.
	Trim bool
}

func (e *NotOursError) Error() string {
	if e.Trim {
		return fmt.Sprintf("secret %s/%s holds your entries, but its data is written by %s: take them out where that tool's manifests live", e.Namespace, e.Name, e.Managers)
	}
	if e.Managers == "" {
		return fmt.Sprintf("secret %s/%s holds none of your registries (%d %s from other keyrings)", e.Namespace, e.Name, e.Entries, pluralEntries(e.Entries))
	}
	return fmt.Sprintf("secret %s/%s is not managed by %s (managers: %s)", e.Namespace, e.Name, FieldManager, e.Managers)
}

func pluralEntries(n int) string {
	if n == 1 {
		return "entry"
	}
	return "entries"
}

// onlyOurs reports whether kubectl-regcred is the only field manager of
// the Secret's content — its type and data: a Secret another tool made
// keeps that tool's entry (for its type, at least) even after --force
// wrote its data. A manager of its metadata alone (a `kubectl label`, a
// policy engine's annotation) made nothing that a delete would take.
func onlyOurs(s *corev1.Secret) bool {
	return len(s.ManagedFields) > 0 && len(managers(s.ManagedFields, `"f:data"`, others)) == 0 &&
		len(managers(s.ManagedFields, `"f:type"`, others)) == 0
}
