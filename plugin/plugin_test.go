package plugin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/regcred/regcred/plugin"
	"github.com/regcred/regcred/store"
	"github.com/regcred/regcred/store/keyring"
)

// world is the plugin in-process: a store on an in-memory keyring and
// client-go's fake clientset as the cluster.
type world struct {
	t  *testing.T
	st *store.Store
	cs *fake.Clientset
}

func newWorld(t *testing.T, objects ...*corev1.Namespace) *world {
	t.Helper()
	st, err := store.New(store.Config{Keyring: keyring.NewMemory(), LockPath: filepath.Join(t.TempDir(), "lock")})
	if err != nil {
		t.Fatal(err)
	}
	// docker's config names regcred, as install.sh leaves it.
	docker := t.TempDir()
	if err := os.WriteFile(filepath.Join(docker, "config.json"), []byte(`{"credsStore":"regcred"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", docker)
	cs := fake.NewClientset()
	for _, ns := range append(objects, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}) {
		if _, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return &world{t: t, st: st, cs: cs}
}

func (w *world) login(server, user, secret string) {
	w.t.Helper()
	if err := w.st.Put(context.Background(), store.Credential{ServerURL: server, Username: user, Secret: secret}); err != nil {
		w.t.Fatal(err)
	}
}

// run runs kubectl-regcred with args and returns its exit code, stdout and stderr.
func (w *world) run(args ...string) (int, string, string) {
	w.t.Helper()
	var out, errb bytes.Buffer
	code := plugin.Run(context.Background(), args, plugin.Env{
		Stdout: &out, Stderr: &errb,
		OpenStore: func() (*store.Store, error) { return w.st, nil },
		Client:    func(string) (kubernetes.Interface, error) { return w.cs, nil },
	})
	return code, out.String(), errb.String()
}

// secret reads a Secret from the fake cluster.
func (w *world) secret(ns, name string) *corev1.Secret {
	w.t.Helper()
	s, err := w.cs.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// auths is a dockerconfigjson's auths, by key: "user:secret".
func auths(t *testing.T, s *corev1.Secret) map[string]string {
	t.Helper()
	if s.Type != corev1.SecretTypeDockerConfigJson {
		t.Fatalf("type %q", s.Type)
	}
	var cfg struct {
		Auths map[string]struct{ Username, Password, Auth string } `json:"auths"`
	}
	if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, a := range cfg.Auths {
		out[k] = a.Username + ":" + a.Password
	}
	return out
}

func TestExportInProcess(t *testing.T) {
	w := newWorld(t)
	w.login("https://Ghcr.io", "alice", "p:ss wörd")
	w.login("docker.io", "bob", "hub")

	code, out, errOut := w.run("export", "-n", "team")
	if code != 0 || !strings.Contains(out, "secret/regcred created") {
		t.Fatalf("export: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	want := map[string]string{"ghcr.io": "alice:p:ss wörd", "https://index.docker.io/v1/": "bob:hub"}
	if got := auths(t, w.secret("team", "regcred")); !maps.Equal(got, want) {
		t.Errorf("auths = %v, want %v", got, want)
	}
	// Nothing changed: nothing written.
	before := len(w.cs.Actions())
	code, out, _ = w.run("export", "-n", "team")
	if code != 0 || !strings.Contains(out, "secret/regcred unchanged") {
		t.Errorf("re-export: exit %d, stdout %q", code, out)
	}
	for _, a := range w.cs.Actions()[before:] {
		if a.GetVerb() != "get" && a.GetVerb() != "list" {
			t.Errorf("an unchanged re-export wrote: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	// A new password: the Secret is updated in place.
	w.login("ghcr.io", "alice", "new")
	if code, out, _ = w.run("export", "-n", "team", "ghcr.io"); code != 0 || !strings.Contains(out, "secret/regcred configured") {
		t.Errorf("export after a new password: exit %d, stdout %q", code, out)
	}
	if got := auths(t, w.secret("team", "regcred"))["ghcr.io"]; got != "alice:new" {
		t.Errorf("ghcr.io after the new password = %q", got)
	}
}

// TestDryRunClientContactsNothing: --dry-run=client -o yaml prints the
// manifest and makes no request at all.
func TestDryRunClientContactsNothing(t *testing.T) {
	w := newWorld(t)
	w.login("r.example:5000", "carol", "s3cret")
	before := len(w.cs.Actions())
	code, out, errOut := w.run("export", "-n", "team", "--dry-run=client", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "type: kubernetes.io/dockerconfigjson") || !strings.Contains(out, "name: regcred") || !strings.Contains(out, "namespace: team") {
		t.Fatalf("dry run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if n := len(w.cs.Actions()) - before; n != 0 {
		t.Errorf("a client-side dry run made %d requests: %v", n, w.cs.Actions()[before:])
	}
	if strings.Contains(errOut, "s3cret") {
		t.Errorf("the secret reached stderr: %q", errOut)
	}
}

// TestInspectAndVerifyInProcess: inspect never prints a password; verify
// exits 0 in sync, 1 on drift, as kubectl diff does.
func TestInspectAndVerifyInProcess(t *testing.T) {
	w := newWorld(t)
	w.login("ghcr.io", "alice", "s3cret")
	if code, _, errOut := w.run("export", "-n", "team"); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	code, out, _ := w.run("inspect", "-n", "team")
	if code != 0 || !strings.Contains(out, "ghcr.io") || !strings.Contains(out, "alice") || !strings.Contains(out, "in sync") || strings.Contains(out, "s3cret") {
		t.Errorf("inspect: exit %d, stdout %q", code, out)
	}
	if code, out, errOut := w.run("verify", "-n", "team"); code != 0 {
		t.Errorf("verify in sync: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	w.login("ghcr.io", "alice", "rotated")
	if code, out, errOut := w.run("verify", "-n", "team"); code != 1 {
		t.Errorf("verify after a rotation: exit %d, stdout %q, stderr %q; want 1 (drift)", code, out, errOut)
	}
}

// TestFlagErrorsChangeNothing: a bad flag is one line on stderr, exit 1,
// and no request.
func TestFlagErrorsChangeNothing(t *testing.T) {
	w := newWorld(t)
	w.login("ghcr.io", "alice", "s3cret")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--parallel", "33", "-n", "team"}, "error: --parallel must be from 1 to 32, not 33\n"},
		{[]string{"export", "--parallel", "0", "-n", "team"}, "error: --parallel must be from 1 to 32, not 0\n"},
		// Every keyring credential into every namespace is asked for, never a default (issue 29).
		{[]string{"export", "-A"}, "error: exporting to every namespace -A or --namespace-selector finds, name the registries (kubectl regcred export ghcr.io -A), or say --all-registries for every one in your keyring\n"},
		{[]string{"export", "--namespace-selector", "team=x"}, "error: exporting to every namespace -A or --namespace-selector finds, name the registries (kubectl regcred export ghcr.io -A), or say --all-registries for every one in your keyring\n"},
		{[]string{"export", "--all-registries", "ghcr.io", "-A"}, "error: --all-registries goes without REGISTRY arguments\n"},
	} {
		before := len(w.cs.Actions())
		code, out, errOut := w.run(tt.args...)
		if code != 1 || errOut != tt.want || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1, %q", tt.args, code, out, errOut, tt.want)
		}
		if n := len(w.cs.Actions()) - before; n != 0 {
			t.Errorf("%v: %d requests", tt.args, n)
		}
	}
}

// TestRefusalsNameTheFlag: what kube refuses without the user's say is one
// line on stderr ending in the kubectl-regcred flag that clears the way,
// and nothing is written.
func TestRefusalsNameTheFlag(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.login("ghcr.io", "alice", "s3cret")
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: "team"}, Type: corev1.SecretTypeOpaque}
	helm := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "helmed", Namespace: "team"},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"quay.io":{"auth":"Ym9iOnB3"}}}`)}}
	broken := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: "team"}, Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`not json`)}}
	// The fake clientset records each creator as the API server does.
	for s, manager := range map[*corev1.Secret]string{opaque: "kubectl-create", helm: "helm", broken: "kubectl-regcred"} {
		if _, err := w.cs.CoreV1().Secrets("team").Create(ctx, s, metav1.CreateOptions{FieldManager: manager}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"export", "-n", "team", "--name", "opaque"}, `error: secret team/opaque already exists with type "Opaque", not "kubernetes.io/dockerconfigjson", and a Secret's type cannot change: use another --name, or delete it first (kubectl delete secret opaque -n team)` + "\n"},
		{[]string{"export", "-n", "team", "--name", "helmed"}, "error: secret team/helmed: its data is managed by another field manager (helm/Update); re-run with --force to add your entries to it\n"},
		{[]string{"export", "-n", "team", "--name", "broken"}, "; --force replaces its content\n"},
		{[]string{"export", "-n", "team", "--service-account", "nosuch"}, `error: serviceaccount "nosuch" not found in namespace "team": create it (kubectl create serviceaccount nosuch -n team), or name another with --service-account` + "\n"},
		{[]string{"delete", "-n", "team", "--name", "helmed"}, "error: secret team/helmed is not managed by kubectl-regcred (managers: helm/Update); use --force to delete it anyway\n"},
	}
	for _, tt := range tests {
		before := len(w.cs.Actions())
		code, _, errOut := w.run(tt.args...)
		if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and one line ending %q", tt.args, code, errOut, tt.want)
		}
		for _, a := range w.cs.Actions()[before:] {
			if v := a.GetVerb(); v != "get" && v != "list" {
				t.Errorf("%v: a refused command wrote: %s %s", tt.args, v, a.GetResource().Resource)
			}
		}
	}
}

// scaleWorld is a world with namespaces ns0000… of perNamespace
// ServiceAccounts each (default, sa1, …), and the caller's credential.
func scaleWorld(t *testing.T, namespaces, perNamespace int) *world {
	t.Helper()
	w := newWorld(t)
	w.login("scale.example", "u", "p")
	ctx := context.Background()
	for i := range namespaces {
		ns := fmt.Sprintf("ns%04d", i)
		if _, err := w.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"scale": "yes"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for j := range perNamespace {
			name := fmt.Sprintf("sa%d", j)
			if j == 0 {
				name = "default"
			}
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
			if _, err := w.cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return w
}

// requests runs the plugin and counts its requests by verb and resource.
func (w *world) requests(args ...string) (total int, counts map[string]int) {
	w.t.Helper()
	before := len(w.cs.Actions())
	if code, _, stderr := w.run(args...); code != 0 {
		w.t.Fatalf("%v: exit %d %s", args, code, stderr)
	}
	counts = map[string]int{}
	for _, a := range w.cs.Actions()[before:] {
		counts[a.GetVerb()+" "+a.GetResource().Resource]++
	}
	w.t.Logf("%v: %d requests %v", args, len(w.cs.Actions())-before, counts)
	return len(w.cs.Actions()) - before, counts
}

// TestExportAtScaleReadsOnce (issue 32): export to namespaces a selector
// finds reads their Secrets and ServiceAccounts with one LIST each and
// writes only what changes — a first export one create per namespace and
// one write per ServiceAccount, an unchanged re-export no request per
// namespace at all (it made 1 + 3 per namespace: the Secret's GET, a
// LIST and a GET per ServiceAccount).
func TestExportAtScaleReadsOnce(t *testing.T) {
	const namespaces, perNamespace = 100, 2
	w := scaleWorld(t, namespaces, perNamespace)
	args := []string{"export", "--namespace-selector", "scale=yes", "--all-registries", "--all-service-accounts"}
	total, counts := w.requests(args...)
	want := map[string]int{"list namespaces": 1, "list secrets": 1, "list serviceaccounts": 1,
		"create secrets": namespaces, "patch serviceaccounts": namespaces * perNamespace}
	if !maps.Equal(counts, want) {
		t.Errorf("first export: %d requests %v, want %v", total, counts, want)
	}
	for i := range namespaces {
		ns := fmt.Sprintf("ns%04d", i)
		if got := auths(t, w.secret(ns, "regcred")); got["scale.example"] != "u:p" {
			t.Fatalf("%s holds %v", ns, got)
		}
		sa, err := w.cs.CoreV1().ServiceAccounts(ns).Get(context.Background(), "sa1", metav1.GetOptions{})
		if err != nil || len(sa.ImagePullSecrets) != 1 || sa.ImagePullSecrets[0].Name != "regcred" {
			t.Fatalf("%s/sa1: %v %v", ns, sa, err)
		}
	}
	total, counts = w.requests(args...)
	want = map[string]int{"list namespaces": 1, "list secrets": 1, "list serviceaccounts": 1}
	if !maps.Equal(counts, want) {
		t.Errorf("unchanged re-export: %d requests %v, want %v", total, counts, want)
	}
	// A new password: an update per namespace, the ServiceAccounts left alone.
	w.login("scale.example", "u", "p2")
	_, counts = w.requests(args...)
	want = map[string]int{"list namespaces": 1, "list secrets": 1, "list serviceaccounts": 1, "update secrets": namespaces}
	if !maps.Equal(counts, want) {
		t.Errorf("re-export of a new password: %v, want %v", counts, want)
	}
	if got := auths(t, w.secret("ns0042", "regcred")); got["scale.example"] != "u:p2" {
		t.Errorf("after the new password ns0042 holds %v", got)
	}
}

// TestDeleteAtScaleCostsPerNamespace (issue 29, point 10; issue 32):
// delete -A over namespaces of 10 ServiceAccounts each reads them with
// one LIST of Secrets and one of ServiceAccounts: with nothing to delete
// that is all (it was 3 requests per namespace, and before issue 29 13);
// deleting each namespace's Secret, referenced by two ServiceAccounts,
// costs the plan's dry run, the delete and one write per reference.
func TestDeleteAtScaleCostsPerNamespace(t *testing.T) {
	const namespaces, perNamespace = 100, 10
	w := scaleWorld(t, namespaces, perNamespace)
	total, counts := w.requests("delete", "-A")
	want := map[string]int{"list namespaces": 1, "list secrets": 1, "list serviceaccounts": 1}
	if !maps.Equal(counts, want) {
		t.Errorf("nothing to delete: %d requests %v, want %v", total, counts, want)
	}
	w.requests("export", "--namespace-selector", "scale=yes", "--all-registries", "--service-account", "default", "--service-account", "sa1")
	total, counts = w.requests("delete", "-A")
	want = map[string]int{"list namespaces": 1, "list secrets": 1, "list serviceaccounts": 1,
		"delete secrets": 2 * namespaces, "patch serviceaccounts": 2 * namespaces}
	if !maps.Equal(counts, want) {
		t.Errorf("deleting: %d requests %v, want %v", total, counts, want)
	}
	for i := range namespaces {
		ns := fmt.Sprintf("ns%04d", i)
		if _, err := w.cs.CoreV1().Secrets(ns).Get(context.Background(), "regcred", metav1.GetOptions{}); err == nil {
			t.Fatalf("%s still has the Secret", ns)
		}
		sa, err := w.cs.CoreV1().ServiceAccounts(ns).Get(context.Background(), "sa1", metav1.GetOptions{})
		if err != nil || len(sa.ImagePullSecrets) != 0 {
			t.Fatalf("%s/sa1: %v %v", ns, sa.ImagePullSecrets, err)
		}
	}
}
