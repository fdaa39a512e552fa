package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/regcred/regcred/kube/dockerconfig"
	"github.com/regcred/regcred/testenv"
)

const hard = "p:ss wörd-€-ünï" // a colon, a space and non-ASCII

func dockerConfig(t *testing.T, s *corev1.Secret) []dockerconfig.Registry {
	t.Helper()
	if s.Type != corev1.SecretTypeDockerConfigJson {
		t.Fatalf("secret type %q", s.Type)
	}
	regs, err := dockerconfig.Parse(s.Data[corev1.DockerConfigJsonKey])
	if err != nil {
		t.Fatal(err)
	}
	return regs
}

// kubectlReference is what `kubectl create secret docker-registry` writes
// for one registry. (The fixture password is in kubectl's argv here: that is
// the very leak regcred exists to avoid, accepted for this reference only.)
func kubectlReference(t *testing.T, server, user, pass string) []byte {
	t.Helper()
	testenv.Require(t, "kubectl")
	out, err := exec.Command("kubectl", "create", "secret", "docker-registry", "ref",
		"--docker-server="+server, "--docker-username="+user, "--docker-password="+pass,
		"--dry-run=client", "-o", "json").Output()
	if err != nil {
		t.Fatalf("kubectl create secret docker-registry: %v", err)
	}
	var s corev1.Secret
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatal(err)
	}
	return s.Data[corev1.DockerConfigJsonKey]
}

func TestExportMatchesKubectlAndIsIdempotent(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("127.0.0.1:5000", "alice", hard)

	r := k.plugin("export", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "secret/regcred created") {
		t.Fatalf("export: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	s := secret(t, "alpha", ns, "regcred")
	want := kubectlReference(t, "127.0.0.1:5000", "alice", hard)
	if got := s.Data[corev1.DockerConfigJsonKey]; string(got) != string(want) {
		t.Errorf(".dockerconfigjson differs from kubectl's:\n got %s\nwant %s", got, want)
	}
	managers := []string{}
	for _, mf := range s.ManagedFields {
		managers = append(managers, mf.Manager+"/"+string(mf.Operation))
	}
	if !slices.Equal(managers, []string{"kubectl-regcred/Update"}) {
		t.Errorf("managed fields = %v, want kubectl-regcred/Update only", managers)
	}
	// kubectl reads what we wrote.
	out, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "get", "secret", "regcred", "-n", ns, "-o", "jsonpath={.type}").Output()
	if err != nil || string(out) != "kubernetes.io/dockerconfigjson" {
		t.Errorf("kubectl get secret: %q, %v", out, err)
	}

	// Unchanged credentials change nothing.
	r = k.plugin("export", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "secret/regcred unchanged") {
		t.Errorf("second export: exit %d stdout %q", r.code, r.stdout)
	}
	if again := secret(t, "alpha", ns, "regcred"); again.ResourceVersion != s.ResourceVersion {
		t.Errorf("resourceVersion moved from %s to %s on an unchanged export", s.ResourceVersion, again.ResourceVersion)
	}

	// A new password updates the Secret in place.
	k.store("127.0.0.1:5000", "alice", "rotated")
	r = k.plugin("export", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "secret/regcred configured") {
		t.Errorf("export after rotation: exit %d stdout %q", r.code, r.stdout)
	}
	updated := secret(t, "alpha", ns, "regcred")
	if regs := dockerConfig(t, updated); len(regs) != 1 || regs[0].Password != "rotated" {
		t.Errorf("after rotation the Secret holds %+v", regs)
	}
	if updated.UID != s.UID {
		t.Errorf("the Secret was recreated, not updated in place")
	}
	for _, stream := range []string{r.stdout, r.stderr} {
		if strings.Contains(stream, "rotated") || strings.Contains(stream, hard) {
			t.Errorf("a password was printed: %q", stream)
		}
	}
}

func TestExportSelectsAndSkips(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("https://index.docker.io/v1/", "hubuser", "hubpass")
	k.store("https://index.docker.io/v1/access-token", "hubuser", "oauth-access")
	k.store("https://index.docker.io/v1/refresh-token", "hubuser", "oauth-refresh")
	k.store("ghcr.io", "<token>", "identity-token")
	k.store("registry.example.com:5000", "bob", "bobpass")

	r := k.plugin("export", "-n", ns)
	if r.code != 0 {
		t.Fatalf("export: %s %s", r.stdout, r.stderr)
	}
	for _, skipped := range []string{"ghcr.io", "access-token", "refresh-token"} {
		if !strings.Contains(r.stderr, "skipping") || !strings.Contains(r.stderr, skipped) {
			t.Errorf("stderr does not name skipped %s: %q", skipped, r.stderr)
		}
	}
	var servers []string
	for _, reg := range dockerConfig(t, secret(t, "alpha", ns, "regcred")) {
		servers = append(servers, reg.Server)
	}
	if want := []string{"https://index.docker.io/v1/", "registry.example.com:5000"}; !slices.Equal(servers, want) {
		t.Errorf("exported %v, want %v", servers, want)
	}

	// REGISTRY arguments use get's address matching.
	ns2 := namespace(t)
	if r := k.plugin("export", "docker.io", "-n", ns2, "--name", "hub"); r.code != 0 {
		t.Fatalf("export docker.io: %s %s", r.stdout, r.stderr)
	}
	if regs := dockerConfig(t, secret(t, "alpha", ns2, "hub")); len(regs) != 1 || regs[0].Username != "hubuser" {
		t.Errorf("export docker.io wrote %+v", regs)
	}
	for _, bad := range [][]string{{"nowhere.example"}, {"ghcr.io"}} {
		r := k.plugin(append([]string{"export", "-n", ns2, "--name", "bad"}, bad...)...)
		if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, bad[0]) {
			t.Errorf("export %v: exit %d stderr %q; want one error line naming it", bad, r.code, r.stderr)
		}
	}
}

// TestExportRefusesToClobber: data another field manager owns is written
// only with --force (and then merged into, keeping its other entries); a
// Secret of another type is never replaced — not even with --force, as a
// type cannot change in place — and the refusal names the command that
// clears the way. A refused export changes nothing.
func TestExportRefusesToClobber(t *testing.T) {
	testenv.Require(t, "kubectl")
	k := newKenv(t)
	ns := namespace(t)
	k.store("reg.example", "alice", "new-password")
	kc := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig, "-n", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	kc("create", "secret", "docker-registry", "made-by-kubectl", "--docker-server=other.example", "--docker-username=bob", "--docker-password=bobs")
	kc("create", "secret", "generic", "opaque", "--from-literal=token=x")

	r := k.plugin("export", "-n", ns, "--name", "made-by-kubectl")
	if r.code != 1 || !strings.Contains(r.stderr, "managed by another field manager (kubectl-create/Update)") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("export over made-by-kubectl: exit %d stderr %q; want exit 1 naming the manager and --force", r.code, r.stderr)
	}
	if regs := dockerConfig(t, secret(t, "alpha", ns, "made-by-kubectl")); len(regs) != 1 || regs[0].Server != "other.example" {
		t.Errorf("a refused export changed the Secret: %+v", regs)
	}
	rv := secret(t, "alpha", ns, "made-by-kubectl").ResourceVersion
	r = k.plugin("export", "-n", ns, "--name", "made-by-kubectl", "--force", "--dry-run=server")
	if r.code != 0 || !strings.Contains(r.stdout, "secret/made-by-kubectl would update (server dry run): other.example keep, reg.example add") {
		t.Errorf("export --force --dry-run=server over made-by-kubectl: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if now := secret(t, "alpha", ns, "made-by-kubectl").ResourceVersion; now != rv {
		t.Errorf("the server dry run wrote the Secret")
	}
	r = k.plugin("export", "-n", ns, "--name", "made-by-kubectl", "--force")
	if r.code != 0 || !strings.Contains(r.stdout, "kept 1 entry this export does not write: other.example") {
		t.Errorf("export --force over made-by-kubectl: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	regs := dockerConfig(t, secret(t, "alpha", ns, "made-by-kubectl"))
	if len(regs) != 2 || regs[0].Server != "other.example" || regs[0].Password != "bobs" || regs[1].Server != "reg.example" || regs[1].Password != "new-password" {
		t.Errorf("after --force made-by-kubectl holds %+v; want bob's entry kept and alice's added", regs)
	}

	// --force launders no ownership: kubectl still manages the Secret, so
	// a plain delete -A takes out only this keyring's entry.
	r = k.plugin("delete", "-A", "--name", "made-by-kubectl")
	if r.code != 0 || !strings.Contains(r.stdout, ns+": secret/made-by-kubectl configured: other.example kept, reg.example removed") {
		t.Errorf("delete -A after --force: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if regs := dockerConfig(t, secret(t, "alpha", ns, "made-by-kubectl")); len(regs) != 1 || regs[0].Server != "other.example" {
		t.Errorf("after delete -A made-by-kubectl holds %+v; want kubectl's entry only", regs)
	}

	before := secret(t, "alpha", ns, "opaque")
	for _, force := range []bool{false, true} {
		args := []string{"export", "-n", ns, "--name", "opaque"}
		if force {
			args = append(args, "--force")
		}
		r := k.plugin(args...)
		want := `error: secret ` + ns + `/opaque already exists with type "Opaque", not "kubernetes.io/dockerconfigjson", and a Secret's type cannot change: use another --name, or delete it first (kubectl delete secret opaque -n ` + ns + ")\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("export over opaque (force %v): exit %d stderr %q; want %q", force, r.code, r.stderr, want)
		}
	}
	if after := secret(t, "alpha", ns, "opaque"); after.ResourceVersion != before.ResourceVersion || after.Type != corev1.SecretTypeOpaque {
		t.Errorf("the Opaque Secret changed: type %s, resourceVersion %s → %s", after.Type, before.ResourceVersion, after.ResourceVersion)
	}
}

func TestExportServiceAccounts(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("reg.example", "alice", "pw")
	c := admin(t, "alpha")
	_, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "builder"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "existing"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if r := k.plugin("export", "-n", ns, "--service-account", "builder", "--service-account", "default"); r.code != 0 {
			t.Fatalf("export: %s", r.stderr)
		}
	}
	for sa, want := range map[string][]string{"builder": {"existing", "regcred"}, "default": {"regcred"}} {
		got, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), sa, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range got.ImagePullSecrets {
			names = append(names, r.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("serviceaccount %s imagePullSecrets = %v, want %v", sa, names, want)
		}
	}
	if r := k.plugin("export", "-n", ns, "--service-account", "ghost"); r.code == 0 || !strings.Contains(r.stderr, "ghost") {
		t.Errorf("export to a missing serviceaccount: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestExportDryRun(t *testing.T) {
	k := newKenv(t)
	k.store("reg.example", "alice", "pw")
	// client: prints the manifest and contacts no server (this kubeconfig's
	// server does not exist).
	k.vars["KUBECONFIG"] = filepath.Join(k.tempDir(), "none")
	r := k.plugin("export", "--dry-run=client", "-o", "yaml", "-n", "somewhere", "--server", "https://127.0.0.1:1")
	if r.code != 0 {
		t.Fatalf("dry-run=client: %s", r.stderr)
	}
	var s corev1.Secret
	if err := yaml.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("dry-run output is not a Secret manifest: %v\n%s", err, r.stdout)
	}
	if s.Kind != "Secret" || s.Name != "regcred" || s.Namespace != "somewhere" || s.Type != corev1.SecretTypeDockerConfigJson {
		t.Errorf("manifest = %+v", s.ObjectMeta)
	}
	if regs := dockerConfig(t, &s); len(regs) != 1 || regs[0].Password != "pw" {
		t.Errorf("manifest content = %+v", regs)
	}
	// Without -o, one line per Secret as kubectl prints it: a CI log gets
	// no manifest, whose data is the password in base64.
	r = k.plugin("export", "--dry-run=client", "-n", "a,b", "--server", "https://127.0.0.1:1")
	want := "[current context] namespace a: secret/regcred created (dry run)\n[current context] namespace b: secret/regcred created (dry run)\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("dry-run=client without -o: exit %d stdout %q stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	if strings.Contains(r.stdout+r.stderr, ".dockerconfigjson") {
		t.Error("dry-run=client without -o printed the Secret's data")
	}
	r = k.plugin("export", "--dry-run=client", "-o", "json", "-n", "a,b", "--server", "https://127.0.0.1:1")
	var list struct {
		Kind  string          `json:"kind"`
		Items []corev1.Secret `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.Kind != "List" || len(list.Items) != 2 || list.Items[1].Namespace != "b" {
		t.Errorf("dry-run json for two namespaces: %v %+v", err, list)
	}

	// server: the API server validates but stores nothing.
	k.vars["KUBECONFIG"] = k.kubeconfig
	ns := namespace(t)
	if r := k.plugin("export", "--dry-run=server", "-n", ns); r.code != 0 || !strings.Contains(r.stdout, "server dry run") {
		t.Fatalf("dry-run=server: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if _, err := admin(t, "alpha").CoreV1().Secrets(ns).Get(context.Background(), "regcred", metav1.GetOptions{}); err == nil {
		t.Error("dry-run=server created the Secret")
	}
	// -o prints the manifest the server returned, without its bookkeeping.
	r = k.plugin("export", "--dry-run=server", "-o", "yaml", "-n", ns)
	s = corev1.Secret{}
	if err := yaml.Unmarshal([]byte(r.stdout), &s); err != nil || r.code != 0 || s.Name != "regcred" || s.UID == "" {
		t.Fatalf("dry-run=server -o yaml: exit %d, %v: %s", r.code, err, r.stdout)
	}
	if strings.Contains(r.stdout, "managedFields") {
		t.Errorf("-o yaml printed managedFields:\n%s", r.stdout)
	}
}

func TestExportErrors(t *testing.T) {
	k := newKenv(t)
	k.store("reg.example", "alice", "pw")
	ns := namespace(t)

	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	kubeconfig := k.vars["KUBECONFIG"]
	tests := []struct {
		name       string
		args       []string
		kubeconfig string // "" for none at all
		want       string
	}{
		{"missing namespace", []string{"-n", "no-such-namespace"}, kubeconfig, `error: namespace "no-such-namespace" not found: create it first, or pick another with -n`},
		{"forbidden", []string{"-n", ns, "--context", "alpha-nobody"}, kubeconfig, `forbidden: you may not get secrets in namespace "` + ns + `"`},
		{"silent", []string{"-n", ns, "--server", "https://" + l.Addr().String(), "--insecure-skip-tls-verify", "--request-timeout", "2s"}, kubeconfig,
			"error: cannot reach the Kubernetes API server at https://" + l.Addr().String() + " (the current context of " + kubeconfig + " (from KUBECONFIG)): it did not answer within --request-timeout 2s; start the cluster"},
		{"refused", []string{"-n", ns, "--server", "http://127.0.0.1:1"}, kubeconfig,
			"error: cannot reach the Kubernetes API server at http://127.0.0.1:1 (the current context of " + kubeconfig + " (from KUBECONFIG)): connection refused; start the cluster, or choose another with --kubeconfig, KUBECONFIG or --context"},
		{"no kubeconfig", []string{"-n", ns}, "",
			"error: no cluster to talk to: no kubeconfig names one (looked in " + filepath.Join(k.session.Dir, ".kube", "config") + "); pass --kubeconfig FILE or set KUBECONFIG"},
		{"bad dry-run", []string{"--dry-run=maybe"}, kubeconfig, `--dry-run must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			k.vars["KUBECONFIG"] = tt.kubeconfig
			if tt.kubeconfig == "" {
				delete(k.vars, "KUBECONFIG")
			}
			defer func() { k.vars["KUBECONFIG"] = kubeconfig }()
			r := k.plugin(append([]string{"export"}, tt.args...)...)
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d stderr %q; want non-zero and %q", r.code, r.stderr, tt.want)
			}
			if n := strings.Count(r.stderr, "\n"); n != 1 {
				t.Errorf("want the error once, on one line; got %d lines:\n%s", n, r.stderr)
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("took %v", took)
			}
			if strings.Contains(r.stdout+r.stderr, "pw\"") {
				t.Errorf("password leaked: %q", r.stderr)
			}
		})
	}

	// Over the API server's 1 MiB limit.
	big := strings.Repeat("x", 60<<10) // the helper protocol's lines stop at 64 KiB
	for i := range 8 {
		k.store(fmt.Sprintf("big%d.example", i), "u", big)
	}
	r := k.plugin("export", "-n", ns, "--name", "big")
	if r.code == 0 || !strings.Contains(r.stderr, "1 MiB") {
		t.Errorf("oversized export: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestExportManyRegistriesNamespacesAndContexts(t *testing.T) {
	k := newKenv(t)
	for i := range 50 {
		k.store(fmt.Sprintf("reg%02d.example:%d", i, 5000+i), fmt.Sprintf("user%d", i), fmt.Sprintf("pw:%d-ü", i))
	}
	ns1, ns2 := namespace(t, "alpha", "beta"), namespace(t, "alpha", "beta")
	r := k.plugin("export", "--context", "alpha", "--context", "beta", "-n", ns1+","+ns2)
	if r.code != 0 || strings.Count(r.stdout, "secret/regcred created") != 4 || !strings.Contains(r.stderr, "exported 50 registries to 4 of 4 targets") {
		t.Fatalf("export to 2 contexts × 2 namespaces: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, ctx := range []string{"alpha", "beta"} {
		for _, ns := range []string{ns1, ns2} {
			if regs := dockerConfig(t, secret(t, ctx, ns, "regcred")); len(regs) != 50 || regs[7].Password != "pw:7-ü" {
				t.Errorf("%s/%s holds %d registries", ctx, ns, len(regs))
			}
		}
	}
	// One failing target does not stop the others; the summary says which.
	ns3 := namespace(t, "alpha")
	r = k.plugin("export", "--context", "alpha", "--context", "beta", "-n", ns3, "--name", "partial")
	if r.code == 0 || !strings.Contains(r.stderr, "exported 50 registries to 1 of 2 targets") || !strings.Contains(r.stderr, "[beta]") {
		t.Errorf("partial failure: exit %d\n%s", r.code, r.stderr)
	}
	if regs := dockerConfig(t, secret(t, "alpha", ns3, "partial")); len(regs) != 50 {
		t.Errorf("the working target was not written")
	}
}

// TestForbiddenNamesTheCause: a 403 is not always RBAC. A namespace being
// deleted and an exhausted ResourceQuota each get their own line.
func TestForbiddenNamesTheCause(t *testing.T) {
	k := newKenv(t)
	k.store("reg.example", "alice", "pw")
	c := admin(t, "alpha")
	ctx := context.Background()

	gone := namespace(t)
	// No namespace controller runs here: a deleted namespace stays Terminating.
	terminate(t, gone)

	full := namespace(t)
	defer terminate(t, full) // so that the -A tests pass it by
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "no-secrets"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/secrets": resource.MustParse("0")}},
	}
	q, err := c.CoreV1().ResourceQuotas(full).Create(ctx, q, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The quota controller is not running: record the usage it would.
	q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{"count/secrets": resource.MustParse("0")}}
	if _, err := c.CoreV1().ResourceQuotas(full).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		ns, want string
	}{
		{gone, `error: namespace "` + gone + `" is being deleted: nothing can be written there until it is gone (or choose another namespace)` + "\n"},
		{full, `error: namespace "` + full + `" is out of quota: its ResourceQuota allows no more secrets (exceeded quota: no-secrets, requested: count/secrets=1, used: count/secrets=0, limited: count/secrets=0); raise the quota or free some` + "\n"},
	} {
		r := k.plugin("export", "-n", tt.ns)
		if r.code != 1 || r.stderr != tt.want {
			t.Errorf("export -n %s: exit %d stderr %q; want exit 1 and %q", tt.ns, r.code, r.stderr, tt.want)
		}
		if hasSecret(t, tt.ns, "regcred") {
			t.Errorf("export -n %s wrote the Secret", tt.ns)
		}
	}
}

// TestExportKubectlConventions: -o name, a bare --dry-run (client, as in
// kubectl), --dry-run=client refusing what needs a server, and an
// unreachable server named by its own context when several are given.
func TestExportKubectlConventions(t *testing.T) {
	k := newKenv(t)
	k.store("reg.example", "alice", "pw")
	dir := k.tempDir()
	dead := filepath.Join(dir, "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters:
- {name: one, cluster: {server: "http://127.0.0.1:1"}}
- {name: two, cluster: {server: "http://127.0.0.1:2"}}
users:
- {name: u, user: {token: t}}
contexts:
- {name: dead-one, context: {cluster: one, user: u, namespace: default}}
- {name: dead-two, context: {cluster: two, user: u, namespace: default}}
current-context: dead-one
`
	if err := os.WriteFile(dead, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	k.vars["KUBECONFIG"] = dead
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string // the whole of stderr, or its start when it ends in "…"
	}{
		{"-o name", []string{"--dry-run=client", "-o", "name", "-n", "a,b"}, 0, "secret/regcred\nsecret/regcred\n", ""},
		{"bare --dry-run", []string{"--dry-run", "-n", "a"}, 0, "[current context] namespace a: secret/regcred created (dry run)\n", ""},
		{"client dry run with -A", []string{"--dry-run=client", "-A"}, 1, "",
			"error: --dry-run=client contacts no server, so it cannot find namespaces with -A or --namespace-selector: name them with -n, or use --dry-run=server\n"},
		{"several contexts, unreachable", []string{"--context", "dead-one", "--context", "dead-two", "-n", "x"}, 1, "",
			"[dead-one] namespace x: error: cannot reach the Kubernetes API server at http://127.0.0.1:1 (context \"dead-one\" of " + dead + " (from KUBECONFIG)): connection refused…"},
	} {
		r := k.plugin(append([]string{"export"}, tt.args...)...)
		stderrOK := r.stderr == tt.stderr
		if start, ok := strings.CutSuffix(tt.stderr, "…"); ok {
			stderrOK = strings.HasPrefix(r.stderr, start) && strings.Contains(r.stderr, "[dead-two] namespace x: error: cannot reach the Kubernetes API server at http://127.0.0.1:2 (context \"dead-two\" of")
		}
		if r.code != tt.code || r.stdout != tt.stdout || (tt.stderr != "" && !stderrOK) {
			t.Errorf("export %s: exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout %q, stderr %q", tt.name, r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
		}
	}
}
