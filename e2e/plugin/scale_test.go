package plugin_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv/launch"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regcred/regcred/kube"
	"github.com/regcred/regcred/plugin"
	"github.com/regcred/regcred/testenv"
)

// serviceAccount creates a ServiceAccount with the given imagePullSecrets.
func serviceAccount(t *testing.T, ns, name string, pullSecrets ...string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, s := range pullSecrets {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	if _, err := admin(t, "alpha").CoreV1().ServiceAccounts(ns).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// pullSecrets lists a ServiceAccount's imagePullSecrets names.
func pullSecrets(t *testing.T, ns, name string) []string {
	t.Helper()
	sa, err := admin(t, "alpha").CoreV1().ServiceAccounts(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range sa.ImagePullSecrets {
		out = append(out, r.Name)
	}
	return out
}

// label sets a label on namespaces.
func label(t *testing.T, key, value string, namespaces ...string) {
	t.Helper()
	c := admin(t, "alpha")
	for _, ns := range namespaces {
		n, err := c.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[key] = value
		if _, err := c.CoreV1().Namespaces().Update(context.Background(), n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// terminate deletes a namespace; with no controller-manager to finalize
// it, it stays Terminating.
func terminate(t *testing.T, ns string) {
	t.Helper()
	if err := admin(t, "alpha").CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func hasSecret(t *testing.T, ns, name string) bool {
	t.Helper()
	_, err := admin(t, "alpha").CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// TestExportAndDeleteAcrossNamespaces: -A and --namespace-selector pick the
// namespaces (skipping terminating ones), --all-service-accounts links every
// ServiceAccount, and delete takes back exactly what export added.
func TestExportAndDeleteAcrossNamespaces(t *testing.T) {
	k := newKenv(t)
	k.store("team.example", "robot", "pw")
	a, b, gone := namespace(t), namespace(t), namespace(t)
	serviceAccount(t, a, "builder", "someone-elses")
	// A reference to the Secret that someone else added: delete keeps it.
	const name = "team-pull"
	serviceAccount(t, b, "manual", name)
	run := "run-" + strings.ToLower(t.Name())
	label(t, "regcred-test", run, a, b, gone)
	terminate(t, gone)

	r := k.plugin("export", "--all-registries", "--namespace-selector", "regcred-test="+run, "--all-service-accounts", "--name", name)
	if r.code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "skipping [current context] namespace "+gone+": terminating") {
		t.Errorf("the terminating namespace is not named as skipped:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "exported 1 registry to 2 of 2 targets") {
		t.Errorf("summary:\n%s", r.stderr)
	}
	for _, ns := range []string{a, b} {
		if !hasSecret(t, ns, name) {
			t.Errorf("no Secret in %s", ns)
		}
	}
	for _, c := range []struct {
		ns, sa string
		want   []string
	}{
		{a, "default", []string{name}},
		{a, "builder", []string{"someone-elses", name}},
		{b, "default", []string{name}},
		{b, "manual", []string{name}},
	} {
		if got := pullSecrets(t, c.ns, c.sa); !slices.Equal(got, c.want) {
			t.Errorf("%s/%s imagePullSecrets = %v, want %v", c.ns, c.sa, got, c.want)
		}
	}

	// -A reaches the same namespaces (and every other; the name is ours alone)
	// but the cluster's own, each named as skipped.
	r = k.plugin("export", "--all-registries", "-A", "--name", name)
	if r.code != 0 || !strings.Contains(r.stdout, "namespace "+a+": secret/"+name+" unchanged") ||
		strings.Contains(r.stdout, "namespace "+gone+":") {
		t.Errorf("export -A: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, sys := range []string{"kube-system", "kube-public", "kube-node-lease"} {
		if !strings.Contains(r.stderr, "skipping [current context] namespace "+sys+": a system namespace (name it with -n to write there)\n") || hasSecret(t, sys, name) {
			t.Errorf("export -A did not skip %s, saying so:\n%s", sys, r.stderr)
		}
	}
	// --exclude leaves a namespace out, and says so.
	r = k.plugin("export", "--all-registries", "--namespace-selector", "regcred-test="+run, "--exclude", b, "--name", "excluded-pull")
	if r.code != 0 || !strings.Contains(r.stderr, "skipping [current context] namespace "+b+": excluded\n") || hasSecret(t, b, "excluded-pull") || !hasSecret(t, a, "excluded-pull") {
		t.Errorf("export --exclude %s: exit %d\n%s\n%s", b, r.code, r.stdout, r.stderr)
	}
	if r := k.plugin("delete", "-n", a, "--name", "excluded-pull"); r.code != 0 {
		t.Errorf("delete excluded-pull: exit %d\n%s", r.code, r.stderr)
	}
	if r := k.plugin("export", "-n", a, "--exclude", b); r.code != 1 || r.stderr != "error: --exclude goes with -A/--all-namespaces or --namespace-selector\n" {
		t.Errorf("--exclude with -n: exit %d stderr %q", r.code, r.stderr)
	}

	// A Secret of the same name that someone else manages is refused…
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "foreign"}, Type: corev1.SecretTypeOpaque, StringData: map[string]string{"x": "y"}}
	if _, err := admin(t, "alpha").CoreV1().Secrets(a).Create(context.Background(), foreign, metav1.CreateOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	if r := k.plugin("delete", "-n", a, "--name", "foreign"); r.code == 0 || !strings.Contains(r.stderr, "not managed by kubectl-regcred") || !hasSecret(t, a, "foreign") {
		t.Errorf("delete of a foreign Secret: exit %d\n%s", r.code, r.stderr)
	}
	// …unless forced.
	if r := k.plugin("delete", "-n", a, "--name", "foreign", "--force"); r.code != 0 || hasSecret(t, a, "foreign") {
		t.Errorf("delete --force: exit %d\n%s", r.code, r.stderr)
	}

	if r := k.plugin("delete", "-A", "--name", name, "--dry-run=server"); r.code != 0 || !strings.Contains(r.stdout, "secret/"+name+" would delete") || !hasSecret(t, a, name) {
		t.Errorf("delete --dry-run=server: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Another tool's Secret of the same name, in a namespace -A reaches: kept,
	// said, and no failure (a re-run could never "complete" it).
	helmNS := namespace(t)
	helms := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeOpaque, StringData: map[string]string{"x": "y"}}
	if _, err := admin(t, "alpha").CoreV1().Secrets(helmNS).Create(context.Background(), helms, metav1.CreateOptions{FieldManager: "helm"}); err != nil {
		t.Fatal(err)
	}
	r = k.plugin("delete", "-A", "--name", name)
	if r.code != 0 {
		t.Fatalf("delete -A: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if want := "[current context] namespace " + helmNS + ": secret/" + name + " kept: managed by helm/Update, not kubectl-regcred (--force deletes it)\n"; !strings.Contains(r.stdout, want) ||
		!strings.Contains(r.stderr, "; kept 1 with none of yours\n") || strings.Contains(r.stderr, "error") || !hasSecret(t, helmNS, name) {
		t.Errorf("delete -A with another tool's Secret: want %q on stdout, the Secret kept, no error\n%s\n%s", want, r.stdout, r.stderr)
	}
	// Named explicitly, it is still refused.
	if r := k.plugin("delete", "-n", helmNS, "--name", name); r.code != 1 || !strings.Contains(r.stderr, "is not managed by kubectl-regcred (managers: helm/Update)") {
		t.Errorf("delete -n of another tool's Secret: exit %d\n%s", r.code, r.stderr)
	}
	for _, ns := range []string{a, b} {
		if hasSecret(t, ns, name) {
			t.Errorf("delete left the Secret in %s", ns)
		}
	}
	for _, c := range []struct {
		ns, sa string
		want   []string
	}{
		{a, "default", nil},
		{a, "builder", []string{"someone-elses"}},
		{b, "default", nil},
		{b, "manual", []string{name}},
	} {
		if got := pullSecrets(t, c.ns, c.sa); !slices.Equal(got, c.want) {
			t.Errorf("after delete %s/%s imagePullSecrets = %v, want %v", c.ns, c.sa, got, c.want)
		}
	}
	sa, _ := admin(t, "alpha").CoreV1().ServiceAccounts(a).Get(context.Background(), "builder", metav1.GetOptions{})
	if _, ok := sa.Annotations[kube.AddedAnnotation]; ok {
		t.Errorf("delete left its annotation: %v", sa.Annotations)
	}
}

// TestExportDryRunServerTellsTheTruth: would create, unchanged, would update.
func TestExportDryRunServerTellsTheTruth(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("dry.example", "u", "one")
	steps := []struct {
		dry  bool
		want string
	}{
		{true, "secret/regcred would create (server dry run)"},
		{false, "secret/regcred created"},
		{true, "secret/regcred unchanged (server dry run)"},
	}
	for i, s := range steps {
		args := []string{"export", "-n", ns}
		if s.dry {
			args = append(args, "--dry-run=server")
		}
		if r := k.plugin(args...); r.code != 0 || !strings.Contains(r.stdout, s.want) {
			t.Errorf("step %d: exit %d, want %q:\n%s\n%s", i, r.code, s.want, r.stdout, r.stderr)
		}
	}
	before := secret(t, "alpha", ns, "regcred")
	k.store("dry.example", "u", "two")
	if r := k.plugin("export", "-n", ns, "--dry-run=server"); !strings.Contains(r.stdout, "secret/regcred would update (server dry run)") {
		t.Errorf("after a password change: %s", r.stdout)
	}
	if after := secret(t, "alpha", ns, "regcred"); after.ResourceVersion != before.ResourceVersion {
		t.Error("a server dry run changed the Secret")
	}
	k.store("other.example", "u", "x")
	if r := k.plugin("export", "-n", ns, "--dry-run=server", "--service-account", "default"); !strings.Contains(r.stdout, "serviceaccount/default would list secret/regcred") {
		t.Errorf("dry run with a ServiceAccount: %s", r.stdout)
	}
	if got := pullSecrets(t, ns, "default"); len(got) != 0 {
		t.Errorf("a dry run changed the ServiceAccount: %v", got)
	}
}

// TestExportMissingServiceAccount names the ServiceAccount instead of
// reporting the Secret unchanged.
func TestExportMissingServiceAccount(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("sa.example", "u", "p")
	r := k.plugin("export", "-n", ns, "--service-account", "nosuch")
	want := `error: serviceaccount "nosuch" not found in namespace "` + ns + `": create it (kubectl create serviceaccount nosuch -n ` + ns + `), or name another with --service-account` + "\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("export with a missing ServiceAccount: exit %d\nstdout %q\nstderr %q\nwant %q", r.code, r.stdout, r.stderr, want)
	}
	if _, err := admin(t, "alpha").CoreV1().Secrets(ns).Get(context.Background(), "regcred", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Secret was written although its ServiceAccount is missing: %v", err)
	}
}

// kubeletLookup asks the kubelet's own pull-secret code which credential it
// would send for each image (normalised as the kubelet normalises it), as
// "username:password"; an image it finds none for is left out. It fails
// the test for an image it did not answer.
func kubeletLookup(t *testing.T, s *corev1.Secret, images []string) map[string]string {
	t.Helper()
	tools, err := launch.K8sTools()
	if err != nil {
		testenv.Unavailable(t, err)
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(tools, "kubelet-keyring"), images...)
	cmd.Stdin = strings.NewReader(string(data))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubelet-keyring: %v", err)
	}
	var got map[string]struct {
		Found              bool
		Username, Password string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	creds := map[string]string{}
	for _, image := range images { // every image asked, not what came back
		g, ok := got[image]
		if !ok {
			t.Fatalf("kubelet-keyring did not answer for %s", image)
		}
		if g.Found {
			creds[image] = g.Username + ":" + g.Password
		}
	}
	return creds
}

// TestKeysTheKubeletMatches: whatever spelling the keyring holds — letter
// case, scheme, API version path, port, path scope, every Docker Hub alias
// — the exported key is one the kubelet's own lookup matches for the
// images a user pulls, and a path scope reaches no sibling repository.
func TestKeysTheKubeletMatches(t *testing.T) {
	tests := []struct {
		stored string
		hits   []string // images the kubelet must find this credential for
		misses []string // images it must not
	}{
		{"Reg.Example.COM", []string{"reg.example.com/app:1", "reg.example.com/team/app"}, []string{"reg.example.com:5000/app", "other.example.com/app"}},
		{"HTTPS://Ports.Example.com:5000/v2/", []string{"ports.example.com:5000/app@sha256:" + strings.Repeat("a", 64)}, []string{"ports.example.com/app", "ports.example.com:5001/app"}},
		{"ghcr.io/Org", []string{"ghcr.io/org/app", "ghcr.io/org/team/app:v1"}, []string{"ghcr.io/org-other/app", "ghcr.io/orgx", "ghcr.io/other/app"}},
		{"registry-1.docker.io", []string{"nginx", "library/nginx:1.27", "docker.io/library/nginx", "index.docker.io/someone/app"}, []string{"ghcr.io/library/nginx"}},
		{"docker.io", []string{"nginx", "someone/app"}, nil},
		{"Index.Docker.IO", []string{"nginx"}, nil},
		{"https://index.docker.io/v1/", []string{"docker.io/someone/app"}, nil},
		{"index.docker.io/MyOrg", []string{"myorg/app", "docker.io/myorg/app:2"}, []string{"nginx", "myorg-other/app", "someone/app"}},
	}
	for i, tt := range tests {
		t.Run(tt.stored, func(t *testing.T) {
			k := newKenv(t)
			ns := namespace(t)
			user := fmt.Sprintf("user%d", i)
			k.store(tt.stored, user, "pass")
			if r := k.plugin("export", "-n", ns, tt.stored); r.code != 0 {
				t.Fatalf("export: %s", r.stderr)
			}
			got := kubeletLookup(t, secret(t, "alpha", ns, "regcred"), append(slices.Clone(tt.hits), tt.misses...))
			for _, image := range tt.hits {
				if got[image] != user+":pass" {
					t.Errorf("stored as %q: the kubelet sends %q for %s, want %s:pass", tt.stored, got[image], image, user)
				}
			}
			for _, image := range tt.misses {
				if c, found := got[image]; found {
					t.Errorf("stored as %q: the kubelet sends %s for %s", tt.stored, c, image)
				}
			}
		})
	}
}

// jwtExpiring is a JWT-shaped token whose exp claim is d from now.
func jwtExpiring(d time.Duration) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(fmt.Appendf(nil, `{"sub":"robot","exp":%d}`, time.Now().Add(d).Unix())) + ".c2ln"
}

// TestExpiringCredentials: inspect shows when credentials expire — a
// JWT's claim, an ECR or Google token's bound from when the Secret was
// written — and export names the expired and soon-expiring ones before
// writing them.
func TestExpiringCredentials(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("fresh.example", "robot", jwtExpiring(30*24*time.Hour))
	k.store("soon.example", "robot", jwtExpiring(5*time.Hour))
	k.store("stale.example", "robot", jwtExpiring(-2*time.Hour))
	k.store("plain.example", "alice", "not-a-token")
	ecr := "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	k.store(ecr, "AWS", "opaque-ecr-token")
	k.store("europe-docker.pkg.dev", "oauth2accesstoken", "ya29.a0AfB_test")
	r := k.plugin("export", "-n", ns)
	if r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	for _, want := range []string{"warning: the credential for soon.example expires", "(in 5h)", "warning: the credential for stale.example expired", "(2h ago)",
		"warning: the credential for " + ecr + " expires by ", "(in 12h: an ECR token lasts 12 hours): re-run this export before then",
		"warning: the credential for europe-docker.pkg.dev expires by ", "(in 1h: a Google access token lasts an hour)"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("export stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, quiet := range []string{"fresh.example", "plain.example"} {
		if strings.Contains(r.stderr, "credential for "+quiet) {
			t.Errorf("export warned about %s:\n%s", quiet, r.stderr)
		}
	}
	r = k.plugin("inspect", "-n", ns)
	for server, want := range map[string]string{"fresh.example": "(in 30d)", "soon.example": "(in 5h)", "stale.example": "(2h ago)", "plain.example": " - ",
		ecr: "(in 12h: an ECR token lasts 12 hours)", "europe-docker.pkg.dev": ": a Google access token lasts an hour)"} {
		line := ""
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(l, server) {
				line = l
			}
		}
		if !strings.Contains(line, want) {
			t.Errorf("inspect line for %s = %q, want %q", server, line, want)
		}
	}
}

// TestPartialFailureAtScale: a Forbidden namespace and one deleted mid-run
// fail alone — one line each, a summary, a non-zero exit — and a re-run
// completes the rest.
func TestPartialFailureAtScale(t *testing.T) {
	k := newKenv(t)
	k.store("partial.example", "u", "p")
	ok1, ok2, forbidden := namespace(t), namespace(t), namespace(t)
	for _, ns := range []string{ok1, ok2} {
		grant(t, ns, []string{"secrets", "serviceaccounts"}, []string{"get", "list", "create", "patch", "update", "delete"})
	}
	r := k.plugin("export", "--context", "alpha-nobody", "-n", strings.Join([]string{ok1, forbidden, ok2}, ","))
	if r.code == 0 || !strings.Contains(r.stderr, "exported 1 registry to 2 of 3 targets") ||
		strings.Count(r.stderr, ": error: ") != 1 || !strings.Contains(r.stderr, "namespace "+forbidden+": error: forbidden") {
		t.Errorf("export with a forbidden namespace: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, ns := range []string{ok1, ok2} {
		if !hasSecret(t, ns, "regcred") {
			t.Errorf("the forbidden namespace stopped %s", ns)
		}
	}

	// A namespace deleted while export runs (one at a time, paused after one).
	nss := []string{namespace(t), namespace(t), namespace(t), namespace(t)}
	run := "mid-" + strings.ToLower(t.Name())
	label(t, "regcred-test", run, nss...)
	pause := filepath.Join(k.tempDir(), "paused")
	done := k.paused(pause, map[string]string{"REGCRED_FAULT_PAUSE_AFTER": "1", "REGCRED_FAULT_PAUSE_FILE": pause},
		"export", "--all-registries", "--parallel", "1", "--namespace-selector", "regcred-test="+run, "--all-service-accounts")
	terminate(t, nss[2])
	os.Remove(pause)
	r = <-done
	if r.code == 0 || !strings.Contains(r.stderr, "exported 1 registry to 3 of 4 targets") || !strings.Contains(r.stderr, "namespace "+nss[2]+": error:") {
		t.Errorf("export with a namespace deleted mid-run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = k.plugin("export", "--all-registries", "--namespace-selector", "regcred-test="+run, "--all-service-accounts")
	if r.code != 0 || !strings.Contains(r.stderr, "skipping [current context] namespace "+nss[2]+": terminating") || !strings.Contains(r.stderr, "to 3 of 3 targets") {
		t.Errorf("re-run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestExportHonoursRetryAfter: an API server that answers 429 Too Many
// Requests with Retry-After (priority and fairness shedding load) slows
// export down but does not fail it.
func TestExportHonoursRetryAfter(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("busy.example", "u", "p")
	target, err := url.Parse(clusterA.Server)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = insecureTransport()
	var shed, passed atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if shed.Load() < 3 && strings.Contains(r.URL.Path, "/secrets") {
			shed.Add(1)
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}`, http.StatusTooManyRequests)
			return
		}
		passed.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	start := time.Now()
	r := k.plugin("export", "-n", ns, "--server", srv.URL, "--token", clusterA.AdminToken, "--insecure-skip-tls-verify")
	if r.code != 0 {
		t.Fatalf("export through a busy server: exit %d\n%s", r.code, r.stderr)
	}
	if shed.Load() != 3 || time.Since(start) < 3*time.Second {
		t.Errorf("%d requests shed, export took %v: Retry-After was not honoured", shed.Load(), time.Since(start))
	}
	if !hasSecret(t, ns, "regcred") {
		t.Error("no Secret after the retries")
	}
}

// insecureTransport reaches the test API server's self-signed endpoint.
func insecureTransport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
}

// TestAllServiceAccountsInANewNamespace: right after a namespace is
// created its default ServiceAccount may not exist yet (the controller
// manager adds it). export --all-service-accounts waits for it, and with no
// ServiceAccount at all says so instead of linking nothing and exiting 0.
func TestAllServiceAccountsInANewNamespace(t *testing.T) {
	k := newKenv(t)
	k.store("new.example", "robot", "pw")
	c := admin(t, "alpha")
	ctx := context.Background()
	bare := func(name string) string {
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return name
	}
	late := bare(fmt.Sprintf("late-sa-%d", time.Now().UnixNano()%1e9))
	empty := bare(fmt.Sprintf("no-sa-%d", time.Now().UnixNano()%1e9))
	defer terminate(t, late)
	defer terminate(t, empty)

	// default appears a second after the export starts.
	go func() {
		time.Sleep(time.Second)
		if _, err := c.CoreV1().ServiceAccounts(late).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
	}()
	if r := k.plugin("export", "-n", late, "--all-service-accounts"); r.code != 0 ||
		!strings.Contains(r.stdout, "serviceaccount/default now lists secret/regcred") {
		t.Errorf("export to a namespace whose default comes late: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := pullSecrets(t, late, "default"); !slices.Equal(got, []string{"regcred"}) {
		t.Errorf("%s/default imagePullSecrets = %v", late, got)
	}

	start := time.Now()
	r := k.plugin("export", "-n", empty, "--all-service-accounts")
	want := `error: namespace "` + empty + `" has no ServiceAccount to link, not even default (the controller manager creates it with the namespace): create one, or name it with --service-account` + "\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("export to a namespace with no ServiceAccount: exit %d stderr %q; want exit 1 and %q", r.code, r.stderr, want)
	}
	if took := time.Since(start); took < 4*time.Second {
		t.Errorf("gave up after %v, before waiting for default", took)
	}
}

// TestRateLimitFollowsPriorityAndFairness: against the real API server,
// the admin (system:masters, which priority and fairness exempts) keeps
// the client-side limit although the server sends its headers; a user the
// server governs gets none; --parallel is capped.
func TestRateLimitFollowsPriorityAndFairness(t *testing.T) {
	for _, tt := range []struct {
		kctx   string
		lifted bool
		why    string
	}{
		{"alpha", false, "the API server exempts you from priority and fairness"},
		{"alpha-nobody", true, "the API server's priority and fairness queues your requests"},
	} {
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
			&clientcmd.ConfigOverrides{CurrentContext: tt.kctx}).ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		got := plugin.RateLimitFor(context.Background(), cfg)
		if got.Lifted != tt.lifted || !strings.Contains(got.Why, tt.why) {
			t.Errorf("%s: %+v; want lifted %v, %q", tt.kctx, got, tt.lifted, tt.why)
		}
	}
	k := newKenv(t)
	r := k.plugin("export", "--parallel", "33", "-n", "default")
	if want := "error: --parallel must be from 1 to 32, not 33\n"; r.code != 1 || r.stderr != want {
		t.Errorf("--parallel 33: exit %d stderr %q; want %q", r.code, r.stderr, want)
	}
}

// grant gives the user "nobody" (context alpha-nobody) the verbs on the
// resources in ns.
func grant(t *testing.T, ns string, resources, verbs []string) {
	t.Helper()
	c := admin(t, "alpha")
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "some"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: resources, Verbs: verbs}}}
	if _, err := c.RbacV1().Roles(ns).Create(context.Background(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "nobody-some"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "some"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "nobody"}}}
	if _, err := c.RbacV1().RoleBindings(ns).Create(context.Background(), rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestForbiddenNamesTheRequest (issue 29, point 11): a refusal names the
// request that was refused, once: a Secret that may be updated but not
// read is "get secrets" (it was worded twice, as "update" around "get"),
// and a ServiceAccount that may not be read is "get serviceaccounts" (it
// was "patch").
func TestForbiddenNamesTheRequest(t *testing.T) {
	k := newKenv(t)
	k.store("verb.example", "alice", "pw")
	noGet := namespace(t)
	grant(t, noGet, []string{"secrets"}, []string{"create", "update"})
	if _, err := admin(t, "alpha").CoreV1().Secrets(noGet).Create(t.Context(), kube.Secret("regcred", noGet, []byte(`{"auths":{}}`)), metav1.CreateOptions{FieldManager: kube.FieldManager}); err != nil {
		t.Fatal(err)
	}
	r := k.plugin("export", "--context", "alpha-nobody", "-n", noGet)
	if r.code != 1 || strings.Count(r.stderr, "forbidden: you may not") != 1 || !strings.Contains(r.stderr, `forbidden: you may not get secrets in namespace "`+noGet+`"`) {
		t.Errorf("export where secrets may not be read: exit %d %q", r.code, r.stderr)
	}
	noSA := namespace(t)
	grant(t, noSA, []string{"secrets"}, []string{"get", "list", "create", "update", "delete"})
	if r := k.plugin("export", "-n", noSA, "--service-account", "default"); r.code != 0 {
		t.Fatalf("export as admin: %s", r.stderr)
	}
	r = k.plugin("delete", "--context", "alpha-nobody", "-n", noSA, "--service-account", "default")
	if r.code != 1 || strings.Count(r.stderr, "forbidden: you may not") != 1 || !strings.Contains(r.stderr, `forbidden: you may not get serviceaccounts in namespace "`+noSA+`"`) {
		t.Errorf("delete where serviceaccounts may not be read: exit %d %q", r.code, r.stderr)
	}
}

// TestDeleteWithARoleForSecretsAlone (issue 29, point 10): a role that may
// read and delete Secrets but not list ServiceAccounts deletes the Secret,
// with a warning naming --service-account (it failed "forbidden: list
// serviceaccounts" and the Secret stayed).
func TestDeleteWithARoleForSecretsAlone(t *testing.T) {
	k := newKenv(t)
	k.store("secrets-only.example", "alice", "pw")
	ns := namespace(t)
	grant(t, ns, []string{"secrets"}, []string{"get", "list", "create", "update", "delete"})
	if r := k.plugin("export", "--context", "alpha-nobody", "-n", ns); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	r := k.plugin("delete", "--context", "alpha-nobody", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "secret/regcred deleted") || !strings.Contains(r.stderr, "may not list serviceaccounts") || !strings.Contains(r.stderr, "--service-account") {
		t.Errorf("delete: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if hasSecret(t, ns, "regcred") {
		t.Error("the Secret stayed")
	}
}

// TestDeleteLeavesAnotherToolsData (issue 29, point 3): a Secret Helm
// made, holding a shared robot account's entry that alice's keyring holds
// too, is not trimmed by alice's delete — Helm wrote that data, regcred
// never wrote into it, and Helm would put the entry back — as export does
// not write into it without --force; one line says where the entry is to
// be taken out. (Into a Secret export --force wrote, delete takes the
// user's entries out: TestExportRefusesToClobber.)
func TestDeleteLeavesAnotherToolsData(t *testing.T) {
	k := newKenv(t)
	k.store("ghcr.io", "alice", "a")
	ns := namespace(t)
	data := `{"auths":{"ghcr.io":{"username":"alice","password":"a","auth":"YWxpY2U6YQ=="},"quay.io":{"username":"robot","password":"r","auth":"cm9ib3Q6cg=="}}}`
	if _, err := admin(t, "alpha").CoreV1().Secrets(ns).Create(t.Context(), kube.Secret("regcred", ns, []byte(data)), metav1.CreateOptions{FieldManager: "helm"}); err != nil {
		t.Fatal(err)
	}
	rv := secret(t, "alpha", ns, "regcred").ResourceVersion
	r := k.plugin("delete", "-n", ns)
	want := "error: secret " + ns + "/regcred holds your entries, but its data is written by helm/Update: take them out where that tool's manifests live\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("delete: exit %d stdout %q stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	if now := secret(t, "alpha", ns, "regcred").ResourceVersion; now != rv {
		t.Errorf("the Secret was written")
	}
}
