package plugin_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/regcred/regcred/kube"
)

// entries lists a Secret's registries as "server=username:password".
func entries(t *testing.T, ns, name string) []string {
	t.Helper()
	var out []string
	for _, r := range dockerConfig(t, secret(t, "alpha", ns, name)) {
		out = append(out, r.Server+"="+r.Username+":"+r.Password)
	}
	return out
}

// TestExportMergesNeverClobbers: two people exporting to one namespace,
// and one person exporting in two steps, end with the union; a later
// export of a registry updates just that entry; --prune drops the others;
// the dry run reports each registry's fate and writes nothing.
func TestExportMergesNeverClobbers(t *testing.T) {
	alice, bob := newKenv(t), newKenv(t)
	ns := namespace(t)
	alice.store("ghcr.io", "alice", "a-ghcr")
	alice.store("quay.io", "alice", "a-quay")
	bob.store("registry.example.com:5000", "bob", "b-reg")

	if r := alice.plugin("export", "ghcr.io", "-n", ns); r.code != 0 {
		t.Fatalf("alice exports ghcr.io: %s", r.stderr)
	}
	if r := alice.plugin("export", "quay.io", "-n", ns); r.code != 0 || !strings.Contains(r.stdout, "secret/regcred configured; kept 1 entry this export does not write: ghcr.io") {
		t.Fatalf("alice exports quay.io: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := bob.plugin("export", "-n", ns); r.code != 0 || !strings.Contains(r.stdout, "kept 2 entries this export does not write: ghcr.io, quay.io") {
		t.Fatalf("bob exports: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	want := []string{"ghcr.io=alice:a-ghcr", "quay.io=alice:a-quay", "registry.example.com:5000=bob:b-reg"}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, want) {
		t.Fatalf("after two people's exports the Secret holds %v, want the union %v", got, want)
	}

	// A rotated password: the dry run says what would happen, per registry,
	// and changes nothing; the export then changes that entry only.
	alice.store("ghcr.io", "alice", "a-ghcr-2")
	rv := secret(t, "alpha", ns, "regcred").ResourceVersion
	r := alice.plugin("export", "-n", ns, "--dry-run=server")
	wantLine := "secret/regcred would update (server dry run): ghcr.io update, quay.io unchanged, registry.example.com:5000 keep\n"
	if r.code != 0 || !strings.HasSuffix(r.stdout, wantLine) {
		t.Errorf("dry run: exit %d stdout %q; want a line ending %q", r.code, r.stdout, wantLine)
	}
	if now := secret(t, "alpha", ns, "regcred").ResourceVersion; now != rv {
		t.Errorf("the dry run wrote the Secret (resourceVersion %s → %s)", rv, now)
	}
	if r := alice.plugin("export", "-n", ns); r.code != 0 {
		t.Fatalf("alice exports again: %s", r.stderr)
	}
	want[0] = "ghcr.io=alice:a-ghcr-2"
	if got := entries(t, ns, "regcred"); !slices.Equal(got, want) {
		t.Errorf("after the rotation the Secret holds %v, want %v", got, want)
	}

	// --prune: exactly this export.
	r = bob.plugin("export", "-n", ns, "--prune", "--dry-run=server")
	if !strings.Contains(r.stdout, "ghcr.io remove, quay.io remove, registry.example.com:5000 unchanged") {
		t.Errorf("dry run with --prune: stdout %q", r.stdout)
	}
	if r := bob.plugin("export", "-n", ns, "--prune"); r.code != 0 || !strings.Contains(r.stdout, "removed (--prune): ghcr.io, quay.io") {
		t.Errorf("export --prune: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, []string{"registry.example.com:5000=bob:b-reg"}) {
		t.Errorf("after --prune the Secret holds %v", got)
	}
}

// TestExportRespellsOldKeys: an entry under a spelling the kubelet does not
// match (written by hand, or by an older regcred) is replaced by the
// canonical one, not kept beside it.
func TestExportRespellsOldKeys(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("Reg.Example.com", "alice", "pw")
	old := kube.Secret("regcred", ns, []byte(`{"auths":{"Reg.Example.com":{"username":"alice","password":"old","auth":"YWxpY2U6b2xk"},"other.example":{"username":"x","password":"y","auth":"eDp5"}}}`))
	c := admin(t, "alpha")
	if _, err := c.CoreV1().Secrets(ns).Create(t.Context(), old, metav1.CreateOptions{FieldManager: kube.FieldManager}); err != nil {
		t.Fatal(err)
	}
	r := k.plugin("export", "-n", ns)
	if r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	if got, want := entries(t, ns, "regcred"), []string{"other.example=x:y", "reg.example.com=alice:pw"}; !slices.Equal(got, want) {
		t.Errorf("the Secret holds %v, want %v", got, want)
	}
}

// TestConcurrentExportsLoseNothing: eight people export to one new
// namespace at once; every one's registry is in the Secret.
func TestConcurrentExportsLoseNothing(t *testing.T) {
	ns := namespace(t)
	const n = 8
	people := make([]*kenv, n)
	for i := range people {
		people[i] = newKenv(t)
		people[i].store(fmt.Sprintf("reg%d.example", i), fmt.Sprintf("user%d", i), "pw")
	}
	var wg sync.WaitGroup
	results := make([]result, n)
	for i, p := range people {
		wg.Go(func() { results[i] = p.plugin("export", "-n", ns) })
	}
	wg.Wait()
	var want []string
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("export %d: exit %d %s", i, r.code, r.stderr)
		}
		want = append(want, fmt.Sprintf("reg%d.example=user%d:pw", i, i))
	}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, want) {
		t.Errorf("after %d concurrent exports the Secret holds %v, want %v", n, got, want)
	}
}

// TestDeleteTakesOnlyYourEntries: delete takes out the caller's entries
// and keeps a teammate's (and the ServiceAccount's reference, which the
// teammate's pods still need); the last person's delete removes the
// Secret and the reference; a Secret with none of the caller's entries is
// refused in a named namespace.
func TestDeleteTakesOnlyYourEntries(t *testing.T) {
	alice, bob, carol := newKenv(t), newKenv(t), newKenv(t)
	ns := namespace(t)
	alice.store("ghcr.io", "alice", "a")
	bob.store("quay.io", "bob", "b")
	carol.store("ghcr.io", "carol", "c") // the same registry, another account
	for _, p := range []*kenv{alice, bob} {
		if r := p.plugin("export", "-n", ns, "--service-account", "default"); r.code != 0 {
			t.Fatalf("export: %s", r.stderr)
		}
	}
	r := carol.plugin("delete", "-n", ns)
	want := "error: secret " + ns + "/regcred holds none of your registries (2 entries from other keyrings); use --force to delete it anyway\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("carol's delete: exit %d stderr %q; want %q", r.code, r.stderr, want)
	}
	r = alice.plugin("delete", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "secret/regcred configured: ghcr.io removed, quay.io kept") {
		t.Errorf("alice's delete: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, []string{"quay.io=bob:b"}) {
		t.Errorf("after alice's delete the Secret holds %v, want bob's entry only", got)
	}
	if got := pullSecrets(t, ns, "default"); !slices.Equal(got, []string{"regcred"}) {
		t.Errorf("after alice's delete the ServiceAccount lists %v; bob's pods still need regcred", got)
	}
	r = bob.plugin("delete", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "secret/regcred deleted") {
		t.Errorf("bob's delete: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if hasSecret(t, ns, "regcred") || len(pullSecrets(t, ns, "default")) != 0 {
		t.Errorf("after the last delete: Secret there %v, ServiceAccount lists %v", hasSecret(t, ns, "regcred"), pullSecrets(t, ns, "default"))
	}
}

// TestServiceAccountListsOfOthers: a list a GitOps tool applies is left
// alone with a warning (that tool would take the entry out again); an
// entry someone wrote back by hand after regcred added it is theirs, and
// delete keeps it with a warning although the annotation still names it.
func TestServiceAccountListsOfOthers(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("reg.example", "alice", "pw")
	c := admin(t, "alpha")
	ctx := t.Context()
	applied := corev1ac.ServiceAccount("gitops", ns).WithImagePullSecrets(corev1ac.LocalObjectReference().WithName("other"))
	if _, err := c.CoreV1().ServiceAccounts(ns).Apply(ctx, applied, metav1.ApplyOptions{FieldManager: "argocd-controller"}); err != nil {
		t.Fatal(err)
	}
	r := k.plugin("export", "-n", ns, "--service-account", "gitops", "--service-account", "default")
	wantWarn := "warning: serviceaccount/gitops: left alone: argocd-controller/Apply applies its imagePullSecrets and would take regcred out again; add it where that tool's manifests live\n"
	if r.code != 0 || !strings.Contains(r.stderr, wantWarn) {
		t.Errorf("export: exit %d stderr %q; want the warning %q", r.code, r.stderr, wantWarn)
	}
	if got := pullSecrets(t, ns, "gitops"); !slices.Equal(got, []string{"other"}) {
		t.Errorf("the GitOps list became %v", got)
	}
	if got := pullSecrets(t, ns, "default"); !slices.Equal(got, []string{"regcred"}) {
		t.Fatalf("default lists %v", got)
	}

	// By hand: take regcred out, then put it back; the list is now the
	// editor's, the annotation still says regcred added it.
	for _, list := range [][]corev1.LocalObjectReference{nil, {{Name: "regcred"}}} {
		sa, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sa.ImagePullSecrets = list
		if _, err := c.CoreV1().ServiceAccounts(ns).Update(ctx, sa, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
	}
	r = k.plugin("delete", "-n", ns)
	wantWarn = "warning: serviceaccount/default: kept regcred in imagePullSecrets: kubectl-edit/Update wrote the list since regcred added it\n"
	if r.code != 0 || !strings.Contains(r.stderr, wantWarn) || !strings.Contains(r.stdout, "secret/regcred deleted") {
		t.Errorf("delete: exit %d stdout %q stderr %q; want the Secret deleted and the warning %q", r.code, r.stdout, r.stderr, wantWarn)
	}
	if got := pullSecrets(t, ns, "default"); !slices.Equal(got, []string{"regcred"}) {
		t.Errorf("delete took a hand-written entry: default lists %v", got)
	}
}

// dockerConfigDoc is a Secret's .dockerconfigjson as a JSON object.
func dockerConfigDoc(t *testing.T, ns, name string) map[string]json.RawMessage {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(secret(t, "alpha", ns, name).Data[corev1.DockerConfigJsonKey], &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestExportAndDeleteKeepWhatTheyDoNotWrite (issue 29, points 5 and 7): a
// Secret another tool wrote — one registry under two spellings, and the
// fields beside auths that kaniko, BuildKit and Tekton read — keeps both
// spellings and those fields through export --force of another registry
// (it lost one spelling, chosen by map order, and every field but auths),
// and a delete that trims an entry keeps the fields too.
func TestExportAndDeleteKeepWhatTheyDoNotWrite(t *testing.T) {
	alice := newKenv(t)
	alice.store("ghcr.io", "alice", "a-ghcr")
	const others = `"credHelpers":{"gcr.io":"gcloud"},"HttpHeaders":{"User-Agent":"kaniko"},"proxies":{"default":{"httpProxy":"http://proxy:3128"}}`
	for _, tt := range []struct{ name, manager, cmd string }{
		{"export --force over another tool's", "helm", "export"},
		{"a delete that trims", kube.FieldManager, "delete"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := namespace(t)
			data := `{"auths":{"https://quay.io":{"auth":"cTE6cDE="},"quay.io/":{"auth":"cTI6cDI="}` // q1:p1, q2:p2
			if tt.cmd == "delete" {
				data += `,"ghcr.io":{"username":"alice","password":"a-ghcr","auth":"YWxpY2U6YS1naGNy"}`
			}
			data += "}," + others + "}"
			if _, err := admin(t, "alpha").CoreV1().Secrets(ns).Create(t.Context(), kube.Secret("regcred", ns, []byte(data)), metav1.CreateOptions{FieldManager: tt.manager}); err != nil {
				t.Fatal(err)
			}
			args := []string{"export", "ghcr.io", "-n", ns, "--force"}
			if tt.cmd == "delete" {
				args = []string{"delete", "-n", ns}
			}
			if r := alice.plugin(args...); r.code != 0 {
				t.Fatalf("%v: exit %d %q %q", args, r.code, r.stdout, r.stderr)
			}
			doc := dockerConfigDoc(t, ns, "regcred")
			for _, f := range []string{"credHelpers", "HttpHeaders", "proxies"} {
				if !strings.Contains(others, string(doc[f])) || len(doc[f]) == 0 {
					t.Errorf("%s: %s is %s", tt.cmd, f, doc[f])
				}
			}
			var auths map[string]json.RawMessage
			if err := json.Unmarshal(doc["auths"], &auths); err != nil {
				t.Fatal(err)
			}
			if string(auths["https://quay.io"]) != `{"auth":"cTE6cDE="}` || string(auths["quay.io/"]) != `{"auth":"cTI6cDI="}` {
				t.Errorf("%s: the two spellings of quay.io are now %s", tt.cmd, doc["auths"])
			}
			if _, has := auths["ghcr.io"]; has != (tt.cmd == "export") {
				t.Errorf("%s: ghcr.io in the Secret: %v", tt.cmd, has)
			}
		})
	}
}

// TestExportKeepsATeammatesAccount (issue 29, point 1): alice exported
// ghcr.io as alice; carol's export of ghcr.io as carol is refused in one
// line naming --force (it replaced alice's entry without a word, so two
// teammates' CI jobs swapped the entry forever) and changes nothing; a
// new password for alice's own account is a rotation, not a refusal;
// carol's --force replaces it.
func TestExportKeepsATeammatesAccount(t *testing.T) {
	alice, carol := newKenv(t), newKenv(t)
	ns := namespace(t)
	alice.store("ghcr.io", "alice", "a1")
	carol.store("ghcr.io", "carol", "c1")
	if r := alice.plugin("export", "ghcr.io", "-n", ns); r.code != 0 {
		t.Fatalf("alice's export: %s", r.stderr)
	}
	rv := secret(t, "alpha", ns, "regcred").ResourceVersion
	r := carol.plugin("export", "ghcr.io", "-n", ns)
	want := "error: secret " + ns + "/regcred: another account's entry is there for ghcr.io (alice); an export replaces only the entries of the account it writes (as delete removes only those); --force replaces it with yours\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("carol's export: exit %d stderr %q; want %q", r.code, r.stderr, want)
	}
	if now := secret(t, "alpha", ns, "regcred").ResourceVersion; now != rv {
		t.Errorf("the refused export wrote the Secret")
	}
	alice.store("ghcr.io", "alice", "a2")
	if r := alice.plugin("export", "ghcr.io", "-n", ns); r.code != 0 {
		t.Errorf("alice's rotation: exit %d %q", r.code, r.stderr)
	}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, []string{"ghcr.io=alice:a2"}) {
		t.Errorf("after alice's rotation the Secret holds %v", got)
	}
	if r := carol.plugin("export", "ghcr.io", "-n", ns, "--force"); r.code != 0 {
		t.Errorf("carol's export --force: exit %d %q", r.code, r.stderr)
	}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, []string{"ghcr.io=carol:c1"}) {
		t.Errorf("after carol's --force the Secret holds %v", got)
	}
}

// TestDeleteALabelledSecret (issue 29, point 12): a Secret regcred made,
// which another manager only labelled (a `kubectl label`, a policy
// engine), is deleted by the delete that takes its last entry — it was
// left holding {"auths":{}}, the output saying "with others' too".
func TestDeleteALabelledSecret(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("label.example", "alice", "pw")
	if r := k.plugin("export", "-n", ns); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	s := secret(t, "alpha", ns, "regcred")
	s.Labels = map[string]string{"team": "platform"}
	if _, err := admin(t, "alpha").CoreV1().Secrets(ns).Update(t.Context(), s, metav1.UpdateOptions{FieldManager: "kubectl-label"}); err != nil {
		t.Fatal(err)
	}
	r := k.plugin("delete", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "secret/regcred deleted") || strings.Contains(r.stdout, "others") {
		t.Errorf("delete: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if hasSecret(t, ns, "regcred") {
		t.Errorf("the Secret is still there: %s", secret(t, "alpha", ns, "regcred").Data[corev1.DockerConfigJsonKey])
	}
}

// TestDeleteRacesAnExport (issue 29, points 2 and 4): alice's delete reads
// a Secret holding only her entry, plans to delete it and takes it out of
// the ServiceAccount; it is paused there (a fault build) while bob's export
// adds his entry. Alice's delete then keeps bob's entry — it deleted the
// Secret, its precondition naming only the UID — and the ServiceAccount
// lists the Secret again — it was left unlinked from a Secret that stays.
func TestDeleteRacesAnExport(t *testing.T) {
	alice, bob := newKenv(t), newKenv(t)
	ns := namespace(t)
	alice.store("ghcr.io", "alice", "a")
	bob.store("quay.io", "bob", "b")
	if r := alice.plugin("export", "-n", ns, "--service-account", "default"); r.code != 0 {
		t.Fatalf("alice's export: %s", r.stderr)
	}
	pause := filepath.Join(alice.tempDir(), "paused")
	done := alice.paused(pause, map[string]string{"REGCRED_FAULT_PAUSE_BEFORE_WRITE": pause}, "delete", "-n", ns, "--service-account", "default")
	if got := pullSecrets(t, ns, "default"); len(got) != 0 {
		t.Errorf("paused before the Secret's delete, the ServiceAccount lists %v (unlinked first)", got)
	}
	if r := bob.plugin("export", "-n", ns); r.code != 0 || !strings.Contains(r.stdout, "configured") {
		t.Fatalf("bob's export: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	os.Remove(pause)
	r := <-done
	if r.code != 0 || !strings.Contains(r.stdout, "secret/regcred configured: ghcr.io removed, quay.io kept") {
		t.Errorf("alice's delete: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if !hasSecret(t, ns, "regcred") {
		t.Fatal("bob's entry went with the Secret")
	}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, []string{"quay.io=bob:b"}) {
		t.Errorf("the Secret holds %v, want bob's entry", got)
	}
	if got := pullSecrets(t, ns, "default"); !slices.Equal(got, []string{"regcred"}) {
		t.Errorf("the ServiceAccount lists %v; bob's pods need regcred", got)
	}
}

// TestExportPrintsOnlyItsOwnEntries (issue 29, point 8): -o json after a
// real export, or a server dry run, prints the Secret with every entry the
// export did not write redacted — it printed the merged Secret whole,
// teammates' passwords included, into the user's terminal or CI log.
func TestExportPrintsOnlyItsOwnEntries(t *testing.T) {
	alice, bob := newKenv(t), newKenv(t)
	ns := namespace(t)
	bob.store("quay.io", "bob", "bobs-s3cret")
	alice.store("ghcr.io", "alice", "alices-s3cret")
	if r := bob.plugin("export", "-n", ns); r.code != 0 {
		t.Fatalf("bob's export: %s", r.stderr)
	}
	for _, args := range [][]string{{"--dry-run=server"}, {}} {
		r := alice.plugin(append([]string{"export", "-n", ns, "-o", "json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("alice's export %v: %s", args, r.stderr)
		}
		var s corev1.Secret
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, r.stdout)
		}
		data := string(s.Data[corev1.DockerConfigJsonKey])
		if strings.Contains(data, "bobs-s3cret") || strings.Contains(data, "Ym9i") || !strings.Contains(data, `"quay.io":{"redacted"`) {
			t.Errorf("export %v -o json printed %s", args, data)
		}
		if !strings.Contains(data, "alices-s3cret") {
			t.Errorf("export %v -o json does not print alice's own entry: %s", args, data)
		}
	}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, []string{"ghcr.io=alice:alices-s3cret", "quay.io=bob:bobs-s3cret"}) {
		t.Errorf("the Secret holds %v", got)
	}
}

// TestExportRacesADelete (issue 29, design gap): alice's export reads the
// Secret and is paused (a fault build) while bob's delete removes it; her
// update then finds it gone and creates it again from her entries (it
// failed, NotFound, and a re-run was needed).
func TestExportRacesADelete(t *testing.T) {
	alice, bob := newKenv(t), newKenv(t)
	ns := namespace(t)
	alice.store("ghcr.io", "alice", "a")
	bob.store("quay.io", "bob", "b")
	if r := bob.plugin("export", "-n", ns); r.code != 0 {
		t.Fatalf("bob's export: %s", r.stderr)
	}
	pause := filepath.Join(alice.tempDir(), "paused")
	done := alice.paused(pause, map[string]string{"REGCRED_FAULT_PAUSE_BEFORE_WRITE": pause}, "export", "-n", ns)
	if r := bob.plugin("delete", "-n", ns); r.code != 0 || !strings.Contains(r.stdout, "deleted") {
		t.Fatalf("bob's delete: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	os.Remove(pause)
	r := <-done
	if r.code != 0 || !strings.Contains(r.stdout, "secret/regcred created") {
		t.Errorf("alice's export: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, []string{"ghcr.io=alice:a"}) {
		t.Errorf("the Secret holds %v, want alice's entry", got)
	}
}

// TestServiceAccountListsGitOpsCoOwns (issue 29, point 6): a list written
// by a client-side apply (kubectl apply, Argo CD's default: an Update with
// the last-applied-configuration annotation) is left alone by export — it
// was taken over, and the tool took regcred out at its next sync; and a
// list a GitOps tool applies together with regcred (the same list in its
// manifests) is left alone by delete — regcred took its entry out and
// Flux lost the list.
func TestServiceAccountListsGitOpsCoOwns(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("reg.example", "alice", "pw")
	c := admin(t, "alpha")
	ctx := t.Context()

	csa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "argo", Annotations: map[string]string{
		corev1.LastAppliedConfigAnnotation: `{"apiVersion":"v1","imagePullSecrets":[{"name":"other"}],"kind":"ServiceAccount","metadata":{"name":"argo"}}`}},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "other"}}}
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, csa, metav1.CreateOptions{FieldManager: "argocd-application-controller"}); err != nil {
		t.Fatal(err)
	}
	r := k.plugin("export", "-n", ns, "--service-account", "argo", "--service-account", "default")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: serviceaccount/argo: left alone: argocd-application-controller/Update (last-applied-configuration) applies its imagePullSecrets") {
		t.Errorf("export: exit %d stderr %q", r.code, r.stderr)
	}
	if got := pullSecrets(t, ns, "argo"); !slices.Equal(got, []string{"other"}) {
		t.Errorf("the client-side-applied list became %v", got)
	}

	// Flux applies the list regcred wrote, as its own manifests hold it.
	if got := pullSecrets(t, ns, "default"); !slices.Equal(got, []string{"regcred"}) {
		t.Fatalf("default lists %v", got)
	}
	flux := corev1ac.ServiceAccount("default", ns).WithImagePullSecrets(corev1ac.LocalObjectReference().WithName("regcred"))
	if _, err := c.CoreV1().ServiceAccounts(ns).Apply(ctx, flux, metav1.ApplyOptions{FieldManager: "kustomize-controller"}); err != nil {
		t.Fatal(err)
	}
	r = k.plugin("delete", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stderr, "warning: serviceaccount/default: kept regcred in imagePullSecrets: kustomize-controller/Apply") {
		t.Errorf("delete: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	sa, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sa.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "regcred"}}) {
		t.Errorf("Flux's list became %v", sa.ImagePullSecrets)
	}
	owned := false
	for _, m := range sa.ManagedFields {
		owned = owned || m.Manager == "kustomize-controller" && m.FieldsV1 != nil && strings.Contains(string(m.FieldsV1.Raw), `"f:imagePullSecrets"`)
	}
	if !owned {
		t.Error("Flux no longer owns its list")
	}
}

// TestListedWritesRaceAWriter (issue 32): across namespaces a selector
// finds, export and delete read every Secret with one LIST and write from
// it. A teammate's export landing between that LIST and the write is a
// conflict (the write names the resourceVersion the LIST returned), read
// again and merged: alice's export keeps bob's entry and writes her new
// password; alice's delete takes out only hers.
func TestListedWritesRaceAWriter(t *testing.T) {
	for _, verb := range []string{"export", "delete"} {
		t.Run(verb, func(t *testing.T) {
			alice, bob := newKenv(t), newKenv(t)
			ns := namespace(t)
			label(t, "listed-race", ns, ns)
			selected := []string{"--namespace-selector", "listed-race=" + ns}
			alice.store("ghcr.io", "alice", "a1")
			bob.store("quay.io", "bob", "b")
			if r := alice.plugin(append([]string{"export", "--all-registries"}, selected...)...); r.code != 0 {
				t.Fatalf("alice's first export: %s", r.stderr)
			}
			args := append([]string{"delete"}, selected...)
			want := []string{"quay.io=bob:b"}
			if verb == "export" {
				alice.store("ghcr.io", "alice", "a2")
				args = append([]string{"export", "--all-registries"}, selected...)
				want = []string{"ghcr.io=alice:a2", "quay.io=bob:b"}
			}
			pause := filepath.Join(alice.tempDir(), "paused")
			done := alice.paused(pause, map[string]string{"REGCRED_FAULT_PAUSE_BEFORE_WRITE": pause}, args...)
			if r := bob.plugin("export", "-n", ns); r.code != 0 || !strings.Contains(r.stdout, "configured") {
				t.Fatalf("bob's export: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			os.Remove(pause)
			if r := <-done; r.code != 0 {
				t.Fatalf("alice's %s: exit %d stdout %q stderr %q", verb, r.code, r.stdout, r.stderr)
			}
			if got := entries(t, ns, "regcred"); !slices.Equal(got, want) {
				t.Errorf("after alice's %s raced bob's export the Secret holds %v, want %v", verb, got, want)
			}
		})
	}
}
