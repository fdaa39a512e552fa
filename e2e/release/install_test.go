package release_test

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/google/uuid"

	"github.com/regcred/regcred/testenv"
)

// The release these tests install, built once per test binary by
// scripts/dist.sh (make dist) unless dist/ already holds the build of
// this commit.
var (
	distOnce    sync.Once
	distVersion string
	distErr     error
)

func TestMain(m *testing.M) { os.Exit(testenv.MainE2E(m)) }

// root is the repository's top directory.
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dist returns the dist directory and the release's version, building it
// when dist/ holds no build of HEAD.
func dist(t *testing.T) (string, string) {
	t.Helper()
	dir := filepath.Join(root(t), "dist")
	distOnce.Do(func() {
		head, err := exec.Command("git", "-C", root(t), "rev-parse", "HEAD").Output()
		if err != nil {
			distErr = fmt.Errorf("git rev-parse: %w", err)
			return
		}
		if v, commit := readMetadata(dir); commit == strings.TrimSpace(string(head)) {
			distVersion = v
			return
		}
		cmd := exec.Command("sh", "scripts/dist.sh")
		cmd.Dir = root(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			distErr = fmt.Errorf("make dist: %v\n%s", err, out)
			return
		}
		distVersion, _ = readMetadata(dir)
	})
	if distErr != nil {
		t.Fatal(distErr)
	}
	return dir, distVersion
}

// readMetadata reads the version and commit GoReleaser recorded.
func readMetadata(dir string) (version, commit string) {
	raw, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		return "", ""
	}
	var m struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return "", ""
	}
	return m.Version, m.Commit
}

// platforms are the OS/arch pairs of make cross, each with its archive.
var platforms = []string{"linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64", "windows_amd64", "windows_arm64"}

func archiveName(version, platform string) string {
	if strings.HasPrefix(platform, "windows") {
		return fmt.Sprintf("regcred_%s_%s.zip", version, platform)
	}
	return fmt.Sprintf("regcred_%s_%s.tar.gz", version, platform)
}

// TestChecksumsCoverAndVerify: checksums.txt names every archive and its
// SBOM, both packages of each Linux arch and the krew manifest, and every sum in it
// verifies (sha256sum -c).
func TestChecksumsCoverAndVerify(t *testing.T) {
	dir, version := dist(t)
	raw, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		if _, name, ok := strings.Cut(sc.Text(), "  "); ok {
			names = append(names, name)
		}
	}
	want := []string{"regcred.krew.yaml"}
	for _, p := range platforms {
		want = append(want, archiveName(version, p))
	}
	for _, p := range platforms {
		want = append(want, archiveName(version, p)+".spdx.json")
	}
	for _, pkg := range []string{"_linux_amd64.deb", "_linux_arm64.deb", "_linux_amd64.rpm", "_linux_arm64.rpm"} {
		want = append(want, "regcred_"+version+pkg)
	}
	for _, w := range want {
		if !slices.Contains(names, w) {
			t.Errorf("checksums.txt does not name %s (it names %v)", w, names)
		}
	}
	cmd := exec.Command("sha256sum", "--check", "--strict", "checksums.txt")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || strings.Count(string(out), ": OK\n") != len(names) {
		t.Errorf("sha256sum --check: %v\n%s", err, out)
	}
}

// TestReleaseIsReproducible: the release built again, from a fresh clone of
// this commit at another path, in a shell that pins the local Go
// (GOTOOLCHAIN=local) and with an empty dist/, is the same byte for byte —
// every archive, package, SBOM and the krew manifest: checksums.txt is equal.
func TestReleaseIsReproducible(t *testing.T) {
	dir, _ := dist(t)
	if out, err := exec.Command("git", "-C", root(t), "status", "--porcelain").Output(); err != nil || len(out) > 0 {
		t.Skipf("the work tree has changes (%v): a build of it is marked dirty, a clone is not", err)
	}
	clone := filepath.Join(t.TempDir(), "elsewhere")
	if out, err := exec.Command("git", "clone", "-q", root(t), clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	cmd := exec.Command("sh", "scripts/dist.sh")
	cmd.Dir = clone
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dist.sh in a clone: %v\n%s", err, out)
	}
	want, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(clone, "dist", "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("a rebuild differs:\n%s\nfirst build:\n%s", got, want)
	}
}

// TestArchivesHoldBothBinaries: each archive holds both binaries (.exe on
// Windows), LICENSE and README.md, and nothing else; in the tarballs every
// file carries the commit's time, whenever it was built.
func TestArchivesHoldBothBinaries(t *testing.T) {
	dir, version := dist(t)
	out, err := exec.Command("git", "-C", root(t), "show", "-s", "--format=%ct", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	commitTime := strings.TrimSpace(string(out))
	for _, p := range platforms {
		ext := ""
		if strings.HasPrefix(p, "windows") {
			ext = ".exe"
		}
		got, times, err := archiveFiles(filepath.Join(dir, archiveName(version, p)))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		want := []string{"LICENSE", "README.md", "docker-credential-regcred" + ext, "kubectl-regcred" + ext}
		if slices.Sort(got); !slices.Equal(got, want) {
			t.Errorf("%s holds %v, want %v", archiveName(version, p), got, want)
		}
		for name, mtime := range times {
			if fmt.Sprint(mtime) != commitTime {
				t.Errorf("%s: %s has time %d, not the commit's %s", archiveName(version, p), name, mtime, commitTime)
			}
		}
	}
}

// archiveFiles lists the regular files of a .tar.gz or .zip, and for a
// .tar.gz each one's time (Unix seconds).
func archiveFiles(path string) ([]string, map[string]int64, error) {
	var names []string
	times := map[string]int64{}
	err := walkArchive(path, func(name string, mtime *time.Time, _ io.Reader) error {
		names = append(names, name)
		if mtime != nil {
			times[name] = mtime.Unix()
		}
		return nil
	})
	return names, times, err
}

// archiveFile reads one file of a .tar.gz or .zip.
func archiveFile(path, name string) ([]byte, error) {
	var body []byte
	found := errors.New("found")
	err := walkArchive(path, func(n string, _ *time.Time, r io.Reader) (err error) {
		if n != name {
			return nil
		}
		if body, err = io.ReadAll(r); err != nil {
			return err
		}
		return found
	})
	if err == nil {
		return nil, fmt.Errorf("%s holds no %s", path, name)
	}
	if err != found {
		return nil, err
	}
	return body, nil
}

// walkArchive calls fn with each regular file of a .tar.gz or .zip: its
// name, its time in a .tar.gz (nil in a .zip) and its contents; an error
// from fn ends the walk and is returned.
func walkArchive(path string, fn func(name string, mtime *time.Time, r io.Reader) error) error {
	if strings.HasSuffix(path, ".zip") {
		z, err := zip.OpenReader(path)
		if err != nil {
			return err
		}
		defer z.Close()
		for _, f := range z.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return err
			}
			err = fn(f.Name, nil, rc)
			rc.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if err := fn(h.Name, &h.ModTime, tr); err != nil {
				return err
			}
		}
	}
}

// TestSBOMsListEveryModule: each archive's SPDX SBOM names the archive by
// its SHA-256 and lists, for both binaries in it, every module the binary's
// own build information records — the main module at the version -buildvcs
// stamped from this commit, each dependency at its version, and the Go
// release as stdlib — with licenses found offline (in the module cache).
// It is reproducible: created is the commit's time, and the namespace's
// UUID is named by the archive's sum, not drawn at random.
func TestSBOMsListEveryModule(t *testing.T) {
	dir, version := dist(t)
	out, err := exec.Command("git", "-C", root(t), "show", "-s", "--format=%ct %H", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	var commitUnix int64
	var head string
	if _, err := fmt.Sscan(string(out), &commitUnix, &head); err != nil {
		t.Fatal(err)
	}
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			archive := filepath.Join(dir, archiveName(version, p))
			raw, err := os.ReadFile(archive + ".spdx.json")
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				SPDXVersion       string `json:"spdxVersion"`
				DocumentNamespace string `json:"documentNamespace"`
				CreationInfo      struct {
					Created string `json:"created"`
				} `json:"creationInfo"`
				Packages []struct {
					Name      string `json:"name"`
					Version   string `json:"versionInfo"`
					License   string `json:"licenseConcluded"`
					Checksums []struct {
						Algorithm string `json:"algorithm"`
						Value     string `json:"checksumValue"`
					} `json:"checksums"`
				} `json:"packages"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.SPDXVersion != "SPDX-2.3" {
				t.Errorf("spdxVersion %q", doc.SPDXVersion)
			}
			if want := time.Unix(commitUnix, 0).UTC().Format(time.RFC3339); doc.CreationInfo.Created != want {
				t.Errorf("created %s, want the commit's time %s", doc.CreationInfo.Created, want)
			}
			body, err := os.ReadFile(archive)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(body)
			id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("sha256:"+hex.EncodeToString(sum[:])))
			if !strings.HasSuffix(doc.DocumentNamespace, filepath.Base(archive)+"-"+id.String()) {
				t.Errorf("namespace %s, want one ending in the archive's name and %s", doc.DocumentNamespace, id)
			}
			listed := map[string]bool{}
			licenses := map[string]string{}
			var archiveSum string
			for _, pkg := range doc.Packages {
				listed[pkg.Name+"@"+pkg.Version] = true
				licenses[pkg.Name] = pkg.License
				if pkg.Name == filepath.Base(archive) {
					for _, c := range pkg.Checksums {
						if c.Algorithm == "SHA256" {
							archiveSum = c.Value
						}
					}
				}
			}
			if archiveSum != hex.EncodeToString(sum[:]) {
				t.Errorf("the SBOM gives the archive's SHA-256 as %q, not %x", archiveSum, sum)
			}
			ext := ""
			if strings.HasPrefix(p, "windows") {
				ext = ".exe"
			}
			for _, bin := range []string{"docker-credential-regcred", "kubectl-regcred"} {
				b, err := archiveFile(archive, bin+ext)
				if err != nil {
					t.Fatal(err)
				}
				info, err := buildinfo.Read(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("%s: %v", bin, err)
				}
				var revision string
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" {
						revision = s.Value
					}
				}
				// v0.0.0-TIME-COMMIT (+dirty where the tree had changes), or the tag.
				if revision != head || !strings.Contains(info.Main.Version, head[:12]) && info.Main.Version != "v"+version {
					t.Errorf("%s: stamped %s at revision %q, want this commit %s", bin, info.Main.Version, revision, head)
				}
				want := []string{info.Main.Path + "@" + info.Main.Version, "stdlib@" + info.GoVersion}
				for _, dep := range info.Deps {
					want = append(want, dep.Path+"@"+dep.Version)
				}
				for _, w := range want {
					if !listed[w] {
						t.Errorf("%s: the SBOM does not list %s", bin, w)
					}
				}
				if len(info.Deps) < 3 {
					t.Errorf("%s: only %d modules in its build information", bin, len(info.Deps))
				}
			}
			for mod, want := range map[string]string{"k8s.io/client-go": "Apache-2.0", "github.com/zalando/go-keyring": "MIT"} {
				if !strings.Contains(licenses[mod], want) {
					t.Errorf("%s's license %q, want %s (read from the module cache)", mod, licenses[mod], want)
				}
			}
		})
	}
}

// hostArch is this machine's arch in Debian's words.
func hostArch(t *testing.T) string {
	t.Helper()
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("no package built for %s", runtime.GOARCH)
	}
	return runtime.GOARCH
}

// TestDebInstallsAndRemoves installs the .deb with dpkg into a throw-away
// root (its own package database), runs both binaries from its /usr/bin,
// and removes the package: nothing of it is left.
func TestDebInstallsAndRemoves(t *testing.T) {
	testenv.Require(t, "dpkg")
	dir, version := dist(t)
	deb := filepath.Join(dir, fmt.Sprintf("regcred_%s_linux_%s.deb", version, hostArch(t)))
	r := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(r, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dpkg := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("dpkg", append([]string{"--root=" + r, "--force-script-chrootless", "--force-not-root"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	dpkg("--install", deb)
	files := dpkg("--listfiles", "regcred")
	for _, f := range []string{"/usr/bin/docker-credential-regcred", "/usr/bin/kubectl-regcred", "/usr/share/bash-completion/completions/kubectl-regcred", "/usr/share/doc/regcred/LICENSE"} {
		if !strings.Contains(files, f+"\n") {
			t.Errorf("the package does not install %s:\n%s", f, files)
		}
	}
	for _, bin := range []string{"docker-credential-regcred", "kubectl-regcred"} {
		out, err := exec.Command(filepath.Join(r, "usr/bin", bin), "version").Output()
		if err != nil || !strings.Contains(string(out), version) {
			t.Errorf("%s version from the package: %q, %v; want %s", bin, out, err, version)
		}
	}
	dpkg("--purge", "regcred")
	var left []string
	err := filepath.Walk(filepath.Join(r, "usr"), func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("removing the package left %v", left)
	}
}

// TestRpmLists: rpm reads the .rpm and lists both binaries in /usr/bin.
func TestRpmLists(t *testing.T) {
	testenv.Require(t, "rpm")
	dir, version := dist(t)
	out, err := exec.Command("rpm", "-qpl", filepath.Join(dir, fmt.Sprintf("regcred_%s_linux_%s.rpm", version, hostArch(t)))).CombinedOutput()
	if err != nil {
		t.Fatalf("rpm -qpl: %v\n%s", err, out)
	}
	for _, f := range []string{"/usr/bin/docker-credential-regcred\n", "/usr/bin/kubectl-regcred\n"} {
		if !strings.Contains(string(out), f) {
			t.Errorf("rpm -qpl does not list %s:\n%s", strings.TrimSpace(f), out)
		}
	}
}

// TestKrewInstallsThePlugin installs the plugin as a user would, with krew
// (v0.4.3, built from the module proxy) from the generated manifest and
// the local archive into a throw-away KREW_ROOT; kubectl then finds
// `kubectl regcred`, which prints the release's version and exports from
// the keyring the archive's own helper stored into; krew uninstall removes
// it. The user is a throw-away one: kubectl, krew, the plugin, the helper,
// the session bus and gnome-keyring run as that user.
func TestKrewInstallsThePlugin(t *testing.T) {
	testenv.Require(t, "kubectl")
	dir, version := dist(t)
	u := testenv.NewKernelUser(t)
	s := testenv.StartProviderAsT(t, launch.GnomeKeyring, launch.Unlocked, u)
	tools := filepath.Join(s.Dir, "tools")
	build := exec.Command("go", "install", "sigs.k8s.io/krew/cmd/krew@v0.4.3")
	build.Env = append(os.Environ(), "GOBIN="+tools, "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		testenv.Unavailable(t, fmt.Errorf("build krew v0.4.3: %v\n%s", err, out))
	}
	if err := os.Rename(filepath.Join(tools, "krew"), filepath.Join(tools, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	kubectl = testenv.UsersCopy(t, kubectl, tools)
	// The release as downloaded: the user's.
	download := filepath.Join(s.Dir, "download")
	archive := filepath.Join(download, archiveName(version, "linux_"+hostArch(t)))
	manifest := filepath.Join(download, "regcred.krew.yaml")
	testenv.UsersCopy(t, filepath.Join(dir, filepath.Base(archive)), download)
	testenv.UsersCopy(t, filepath.Join(dir, "regcred.krew.yaml"), download)
	krewRoot := filepath.Join(s.Dir, "krew")
	vars := s.EnvMap()
	vars["KREW_ROOT"] = krewRoot
	vars["KREW_NO_UPGRADE_CHECK"] = "1"
	vars["PATH"] = strings.Join([]string{filepath.Join(krewRoot, "bin"), tools, filepath.Dir(kubectl), "/usr/bin", "/bin"}, string(os.PathListSeparator))
	// as runs bin as the user, once what the test wrote is the user's.
	as := func(bin, stdin string, args ...string) launch.Result {
		t.Helper()
		if err := u.Own(s.Dir); err != nil {
			t.Fatal(err)
		}
		r, err := launch.Run(testenv.Wrap(t, u, bin), vars, stdin, args...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	run := func(stdin string, args ...string) launch.Result {
		t.Helper()
		return as(kubectl, stdin, args...)
	}
	if r := run("", "krew", "install", "--manifest="+manifest, "--archive="+archive); r.Code != 0 {
		t.Fatalf("kubectl krew install: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := run("", "regcred", "version"); r.Code != 0 || !strings.Contains(r.Stdout, version) {
		t.Errorf("kubectl regcred version: exit %d %q; want %s", r.Code, r.Stdout, version)
	}
	helper := filepath.Join(krewRoot, "store", "regcred", "v"+version, "docker-credential-regcred")
	if r := as(helper, `{"ServerURL":"krew.example","Username":"u","Secret":"s3cret"}`, "store"); r.Code != 0 {
		t.Fatalf("the archive's helper stores: %+v", r)
	}
	// It made its writers' lock in the HOME of whoever ran it (as root, in
	// root's: this HOME is not root's own).
	if fi, err := os.Stat(filepath.Join(s.Dir, ".cache", "regcred", "lock")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(u.UID) {
		t.Fatalf("the archive's helper did not run as the user: %v", err)
	}
	// Its keyring, not docker's stores: this docker was never configured.
	if r := run("", "regcred", "export", "--from", "keyring", "--dry-run=client", "-n", "demo"); r.Code != 0 || r.Stdout != "[current context] namespace demo: secret/regcred created (dry run)\n" {
		t.Errorf("kubectl regcred export --from keyring --dry-run=client: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	// krew uninstall wants a local plugin index, which an install from a
	// manifest never fetches: offline, an empty git repository serves (the
	// shape `kubectl krew index add` leaves; nothing is read from it).
	index := filepath.Join(krewRoot, "index", "default")
	if err := os.MkdirAll(filepath.Join(index, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "init", "-q", index).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	if r := run("", "krew", "uninstall", "regcred"); r.Code != 0 {
		t.Fatalf("kubectl krew uninstall: exit %d %s%s", r.Code, r.Stdout, r.Stderr)
	}
	if _, err := os.Lstat(filepath.Join(krewRoot, "bin", "kubectl-regcred")); !os.IsNotExist(err) {
		t.Errorf("after uninstall kubectl-regcred is still linked: %v", err)
	}
	if _, err := os.Stat(filepath.Join(krewRoot, "store", "regcred")); !os.IsNotExist(err) {
		t.Errorf("after uninstall the plugin's files are still there: %v", err)
	}
	if r := run("", "regcred", "version"); r.Code == 0 {
		t.Errorf("kubectl still finds the plugin after uninstall: %q", r.Stdout)
	}
}

// TestWindowsZipRunsUnderWine: the Windows archive's helper runs under
// Wine against Credential Manager: version, store and get.
func TestWindowsZipRunsUnderWine(t *testing.T) {
	if err := launch.WineAvailable(); err != nil {
		testenv.Unavailable(t, err)
	}
	dir, version := dist(t)
	b, err := archiveFile(filepath.Join(dir, archiveName(version, "windows_amd64")), "docker-credential-regcred.exe")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	exe := filepath.Join(tmp, "bin", "docker-credential-regcred.exe")
	if err := os.MkdirAll(filepath.Dir(exe), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := launch.WriteProgram(exe, b, 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := launch.StartWine(filepath.Join(tmp, "wine"))
	if err != nil {
		testenv.Unavailable(t, err)
	}
	t.Cleanup(w.Stop)
	if r, err := w.Run(exe, nil, "", "version"); err != nil || r.Code != 0 || !strings.Contains(r.Stdout, version) {
		t.Errorf("version under Wine: %v %+v; want %s", err, r, version)
	}
	if r, err := w.Run(exe, nil, `{"ServerURL":"wine.example","Username":"u","Secret":"from-the-zip"}`, "store"); err != nil || r.Code != 0 {
		t.Fatalf("store under Wine: %v %+v", err, r)
	}
	r, err := w.Run(exe, nil, "wine.example", "get")
	if err != nil || r.Code != 0 || r.Stdout != `{"ServerURL":"wine.example","Username":"u","Secret":"from-the-zip"}`+"\n" {
		t.Errorf("get under Wine: %v %+v", err, r)
	}
}
