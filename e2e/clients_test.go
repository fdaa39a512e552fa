package e2e_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/testenv"
)

// A registryClient is one real client, driven through the steps every
// client must pass with regcred: configure, login, push, pull, logout.
type registryClient struct {
	name  string
	tools string // configure --tools
	// prog returns the program to run and the arguments that come first.
	prog func(t *testing.T, w *world) (string, []string)
	// login, push, pull and logout are the arguments after prog's.
	login, logout func(w *world) []string
	push, pull    func(w *world) [][]string
	// setup prepares what push uploads.
	setup func(t *testing.T, w *world)
}

// containersStorage are the flags that give podman and buildah storage of
// their own in the test's directory (vfs: no mounts).
func containersStorage(w *world) []string {
	d := w.session.Dir
	return []string{"--root", filepath.Join(d, "storage"), "--runroot", filepath.Join(d, "runroot"), "--storage-driver", "vfs"}
}

// clientTool returns a program from the helm/oras build cache, copied
// where the world's user can run it (the cache is root's, under /root).
func clientTool(name string) func(t *testing.T, w *world) (string, []string) {
	return func(t *testing.T, w *world) (string, []string) {
		dir, err := launch.ClientTools()
		if err != nil {
			testenv.Unavailable(t, err)
		}
		dst := testenv.UsersCopy(t, filepath.Join(dir, name), filepath.Join(binDir, "client-tools"))
		return dst, nil
	}
}

// system returns a program that must be installed (Debian packages).
func system(name string, args func(w *world) []string) func(t *testing.T, w *world) (string, []string) {
	return func(t *testing.T, w *world) (string, []string) {
		testenv.Require(t, name)
		if args == nil {
			return name, nil
		}
		return name, args(w)
	}
}

// image is the docker tarball the containers tools push.
func image(w *world) string { return filepath.Join(w.session.Dir, "app.tar") }

func writeImage(t *testing.T, w *world) {
	if err := launch.WriteAppImage(image(w), w.registry.Host+"/seed/app:1"); err != nil {
		t.Fatal(err)
	}
}

var registryClients = []registryClient{
	{
		name: "podman", tools: "containers", setup: writeImage,
		prog: system("podman", func(w *world) []string {
			d := w.session.Dir
			return append(containersStorage(w), "--tmpdir", filepath.Join(d, "podman-tmp"), "--events-backend", "none",
				"--network-config-dir", filepath.Join(d, "net"))
		}),
		login: func(w *world) []string {
			return []string{"login", "--tls-verify=false", "-u", user, "--password-stdin", w.registry.Host}
		},
		push: func(w *world) [][]string {
			ref := w.registry.Host + "/podman/app:1"
			return [][]string{{"pull", "docker-archive:" + image(w)}, {"tag", w.registry.Host + "/seed/app:1", ref}, {"push", "--tls-verify=false", ref}}
		},
		pull: func(w *world) [][]string {
			ref := w.registry.Host + "/podman/app:1"
			return [][]string{{"rmi", "-a", "-f"}, {"pull", "--tls-verify=false", ref}}
		},
		logout: func(w *world) []string { return []string{"logout", w.registry.Host} },
	},
	{
		name: "buildah", tools: "containers", setup: writeImage,
		prog: system("buildah", containersStorage),
		login: func(w *world) []string {
			return []string{"login", "--tls-verify=false", "-u", user, "--password-stdin", w.registry.Host}
		},
		push: func(w *world) [][]string {
			return [][]string{{"pull", "docker-archive:" + image(w)},
				{"push", "--tls-verify=false", w.registry.Host + "/seed/app:1", "docker://" + w.registry.Host + "/buildah/app:1"}}
		},
		pull: func(w *world) [][]string {
			return [][]string{{"rmi", "-a", "-f"}, {"pull", "--policy=always", "--tls-verify=false", w.registry.Host + "/buildah/app:1"}}
		},
		logout: func(w *world) []string { return []string{"logout", w.registry.Host} },
	},
	{
		name: "skopeo", tools: "containers", setup: writeImage,
		prog: system("skopeo", nil),
		login: func(w *world) []string {
			return []string{"login", "--tls-verify=false", "-u", user, "--password-stdin", w.registry.Host}
		},
		push: func(w *world) [][]string {
			return [][]string{{"copy", "--dest-tls-verify=false", "docker-archive:" + image(w), "docker://" + w.registry.Host + "/skopeo/app:1"}}
		},
		pull: func(w *world) [][]string {
			return [][]string{{"copy", "--src-tls-verify=false", "docker://" + w.registry.Host + "/skopeo/app:1", "oci:" + filepath.Join(w.session.Dir, "pulled") + ":1"}}
		},
		logout: func(w *world) []string { return []string{"logout", w.registry.Host} },
	},
	{
		name: "helm", tools: "helm", prog: clientTool("helm"),
		setup: func(t *testing.T, w *world) {
			h, _ := clientTool("helm")(t, w)
			if out, code := w.exec("", h, "create", filepath.Join(w.session.Dir, "mychart")); code != 0 {
				t.Fatalf("helm create: %s", out)
			}
			if out, code := w.exec("", h, "package", filepath.Join(w.session.Dir, "mychart"), "-d", w.session.Dir); code != 0 {
				t.Fatalf("helm package: %s", out)
			}
			if err := os.Mkdir(filepath.Join(w.session.Dir, "pulled"), 0o700); err != nil {
				t.Fatal(err)
			}
		},
		login: func(w *world) []string {
			return []string{"registry", "login", "-u", user, "--password-stdin", w.registry.Host}
		},
		push: func(w *world) [][]string {
			return [][]string{{"push", filepath.Join(w.session.Dir, "mychart-0.1.0.tgz"), "oci://" + w.registry.Host + "/charts", "--plain-http"}}
		},
		pull: func(w *world) [][]string {
			return [][]string{{"pull", "oci://" + w.registry.Host + "/charts/mychart", "--version", "0.1.0", "--plain-http", "-d", filepath.Join(w.session.Dir, "pulled")}}
		},
		logout: func(w *world) []string { return []string{"registry", "logout", w.registry.Host} },
	},
	{
		name: "oras", tools: "docker", prog: clientTool("oras"),
		setup: func(t *testing.T, w *world) {
			if err := os.WriteFile(filepath.Join(w.session.Dir, "artifact.txt"), []byte("private artifact\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		login: func(w *world) []string {
			return []string{"login", "--plain-http", "-u", user, "--password-stdin", w.registry.Host}
		},
		push: func(w *world) [][]string {
			return [][]string{{"push", "--plain-http", w.registry.Host + "/oras/artifact:1", "artifact.txt"}}
		},
		pull: func(w *world) [][]string {
			return [][]string{{"pull", "--plain-http", "-o", filepath.Join(w.session.Dir, "pulled"), w.registry.Host + "/oras/artifact:1"}}
		},
		logout: func(w *world) []string { return []string{"logout", w.registry.Host} },
	},
}

// TestEveryClientThroughTheKeyring: for each real client, wired by
// configure --tools, login stores in the keyring and writes no plaintext
// anywhere, an authenticated push and pull work, and logout erases.
func TestEveryClientThroughTheKeyring(t *testing.T) {
	leaveSystemAsFound(t, "/run/containers", "/run/libpod", "/var/lib/containers", "/etc/cni/net.d/cni.lock")
	for _, c := range registryClients {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			stopPodmanPause(t, w)
			w.writeConfig(`{}`) // configure must do the wiring
			bin, pre := c.prog(t, w)
			run := func(stdin string, args ...string) (string, int) {
				return w.exec(stdin, bin, append(append([]string{}, pre...), args...)...)
			}
			if out, code := w.exec("", "docker-credential-regcred", "configure", "--tools", c.tools); code != 0 {
				t.Fatalf("configure --tools %s: exit %d\n%s", c.tools, code, out)
			}
			if c.setup != nil {
				c.setup(t, w)
				w.own()
			}
			host := w.registry.Host

			// Without a login the registry refuses the push: 401. (The steps
			// before the push itself are local: a pull from an archive, a tag.)
			steps := c.push(w)
			for _, step := range steps[:len(steps)-1] {
				if out, code := run("", step...); code != 0 {
					t.Fatalf("%s %s: exit %d\n%s", c.name, strings.Join(step, " "), code, out)
				}
			}
			if out, code := run("", steps[len(steps)-1]...); code == 0 || !refused(out) {
				t.Fatalf("%s push without a login: exit %d, want the registry's 401:\n%s", c.name, code, out)
			}
			if out, code := run(password+"\n", c.login(w)...); code != 0 {
				t.Fatalf("%s login: exit %d\n%s", c.name, code, out)
			}
			cred, err := client.Get(w.helper(), host)
			if err != nil || cred.Username != user || cred.Secret != password {
				t.Fatalf("keyring after %s login: %+v, %v", c.name, cred, err)
			}
			testenv.NoPlaintext(t, w.session, password, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
			for _, step := range append(c.push(w), c.pull(w)...) {
				if out, code := run("", step...); code != 0 {
					t.Fatalf("%s %s: exit %d\n%s", c.name, strings.Join(step, " "), code, out)
				}
			}
			if out, code := run("", c.logout(w)...); code != 0 {
				t.Fatalf("%s logout: exit %d\n%s", c.name, code, out)
			}
			if _, err := client.Get(w.helper(), host); !credentials.IsErrCredentialsNotFound(err) {
				t.Errorf("keyring after %s logout: %v, want not found", c.name, err)
			}
			if out, code := run("", c.pull(w)[len(c.pull(w))-1]...); code == 0 || !refused(out) {
				t.Errorf("%s pull after logout: exit %d, want the registry's 401:\n%s", c.name, code, out)
			}
			if c.tools == "containers" {
				// A login to HOST/namespace, which containers/image keys per
				// namespace, fails loudly rather than writing plaintext.
				if out, code := run(password+"\n", append(c.login(w)[:len(c.login(w))-1], host+"/team/app")...); code == 0 ||
					!strings.Contains(out, "namespaced key is not supported for credential helper regcred") {
					t.Errorf("%s login to a namespace: exit %d\n%s", c.name, code, out)
				}
				testenv.NoPlaintext(t, w.session, password)
			}
		})
	}
}

// stopPodmanPause ends, when the test ends, the pause process rootless
// podman leaves running as the world's user to hold its user namespace
// (catatonit -P): by PID, before the user is removed.
func stopPodmanPause(t *testing.T, w *world) {
	t.Cleanup(func() {
		for _, pid := range launch.ProcessesOf(w.user.UID) {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if strings.TrimSpace(string(comm)) != "catatonit" {
				continue
			}
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
			for range 100 {
				if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}

// leaveSystemAsFound removes, at the end of the test, each of paths that
// does not exist now: podman creates some of them even with storage, tmpdir
// and network config of its own.
func leaveSystemAsFound(t *testing.T, paths ...string) {
	var absent []string
	for _, p := range paths {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			absent = append(absent, p)
		}
	}
	t.Cleanup(func() {
		for _, p := range absent {
			os.RemoveAll(p)
		}
	})
}

// TestImportWhatUnwiredClientsWrote: podman and helm, not yet wired, log in
// and write plaintext to their own files. import moves both into the
// keyring and scrubs the files; once configure wires them, both still push
// with the credential, now from the keyring.
func TestImportWhatUnwiredClientsWrote(t *testing.T) {
	leaveSystemAsFound(t, "/run/containers", "/run/libpod", "/var/lib/containers", "/etc/cni/net.d/cni.lock")
	w := newWorld(t)
	stopPodmanPause(t, w)
	w.writeConfig(`{}`)
	var podman, helm registryClient
	for _, c := range registryClients {
		switch c.name {
		case "podman":
			podman = c
		case "helm":
			helm = c
		}
	}
	type prepared struct {
		c   registryClient
		run func(stdin string, args ...string) (string, int)
	}
	var clients []prepared
	for _, c := range []registryClient{podman, helm} {
		bin, pre := c.prog(t, w)
		c.setup(t, w)
		w.own()
		clients = append(clients, prepared{c, func(stdin string, args ...string) (string, int) {
			return w.exec(stdin, bin, append(append([]string{}, pre...), args...)...)
		}})
	}
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	for _, p := range clients {
		if out, code := p.run(password+"\n", p.c.login(w)...); code != 0 {
			t.Fatalf("%s login: %s", p.c.name, out)
		}
	}
	if hits, err := w.session.FilesContaining(auth); err != nil || len(hits) != 2 {
		t.Fatalf("unwired podman and helm should each write plaintext to their own file; found it in %v", hits)
	}
	out, code := w.exec("", "docker-credential-regcred", "import")
	if code != 0 || strings.Count(out, "moved "+w.registry.Host+" (alice) from ") != 2 {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	testenv.NoPlaintext(t, w.session, auth)
	// helm on PATH too: configure, by default, wires every client installed.
	clientTool("helm")(t, w)
	clientTool("oras")(t, w)
	w.env["PATH"] += string(os.PathListSeparator) + filepath.Join(binDir, "client-tools")
	if out, code := w.exec("", "docker-credential-regcred", "configure"); code != 0 || strings.Count(out, "\n") != 4 || !strings.HasPrefix(out, "credentials are kept in the Secret Service") {
		t.Fatalf("configure: exit %d\n%s", code, out)
	}
	for _, p := range clients {
		for _, step := range p.c.push(w) {
			if out, code := p.run("", step...); code != 0 {
				t.Errorf("%s %s after import: exit %d\n%s", p.c.name, strings.Join(step, " "), code, out)
			}
		}
	}
	if out, code := w.exec("", "docker-credential-regcred", "doctor"); code != 0 || strings.Contains(out, "✗") {
		t.Errorf("doctor after import and configure: exit %d\n%s", code, out)
	}
}

// refused reports whether a client's output says the registry refused it
// for want of credentials (401), as each client words it: oras-go (helm,
// oras) says "basic credential not found" once the registry's 401 asked for
// Basic credentials and none could be had.
func refused(out string) bool {
	o := strings.ToLower(out)
	return strings.Contains(o, "unauthorized") || strings.Contains(o, "401") || strings.Contains(o, "authentication required") ||
		strings.Contains(o, "basic credential not found")
}
