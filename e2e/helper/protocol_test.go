package helper_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/store/keyring"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/testenv"
)

// binDir holds the built docker-credential-regcred.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithBinaries(m, &binDir, "docker-credential-regcred"))
}

// env runs the helper binary against one private keyring.
type env struct {
	t       *testing.T
	kr      testenv.Keyring    // the keyring under test
	session *launch.Session    // the Secret Service's, when that is it
	user    *launch.KernelUser // the kernel keyring's user, when that is it
	vars    map[string]string
	bin     string // the helper binary to run
}

// in is the env for a subtest of the test that made it: the same keyring,
// user and settings, failing t.
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// helperBin is the built helper.
func helperBin() string { return filepath.Join(binDir, "docker-credential-regcred") }

// newEnv is an env on a private gnome-keyring set up as mode says.
func newEnv(t *testing.T, mode launch.KeyringMode) *env {
	t.Helper()
	return newProviderEnv(t, launch.GnomeKeyring, mode)
}

// newProviderEnv is an env on a private Secret Service provider set up as
// mode says, run as people run it: the bus, the provider and the helper
// as an ordinary user (a throw-away one), not root.
func newProviderEnv(t *testing.T, provider launch.Provider, mode launch.KeyringMode) *env {
	t.Helper()
	u := testenv.NewKernelUser(t)
	s := testenv.StartProviderAsT(t, provider, mode, u)
	e := &env{t: t, kr: s, session: s, user: u, vars: s.EnvMap()}
	e.bin = testenv.Wrap(e.t, e.user, helperBin())
	return e
}

// keyrings are the keyrings the tests of what every keyring must do run
// on: gnome-keyring ("secret-service"), the kernel keyring, and the other
// Secret Service providers.
var keyrings = []string{"secret-service", "kernel", string(launch.KeePassXC), string(launch.KWallet)}

// newEnvOn is an env on a keyring of its own: a private unlocked Secret
// Service provider, or the kernel keyring of a throw-away user (the helper
// runs as that user either way). KeePassXC here asks nobody: on its
// defaults it asks a person before each new helper process reads an item,
// and these suites run thousands of processes, twenty at once — a run of
// this package on its defaults, each question answered through its
// dialog, took 1782 s instead of about 360, its concurrent stores timing
// out while their questions waited their turn. What its defaults change
// for regcred — items unlocked through its question, a refusal in one
// line, the Recycle Bin, the default key derivation's long saves — is
// tested on its defaults by TestKeePassXCOnItsDefaultsAsAUser and
// TestKeePassXCOutlivesItsSaves, and the clients' suite (e2e) runs on them.
func newEnvOn(t *testing.T, keyring string) *env {
	t.Helper()
	switch keyring {
	case "secret-service":
		return newEnv(t, launch.Unlocked)
	case string(launch.KeePassXC), string(launch.KWallet):
		return newProviderEnv(t, launch.Provider(keyring), launch.Unlocked)
	}
	u := testenv.NewKernelUser(t)
	e := &env{t: t, kr: u, user: u, vars: u.Env()}
	e.bin = testenv.Wrap(e.t, e.user, helperBin())
	return e
}

// onEach runs test once on every keyring, each in a subtest of its own,
// the keyrings in parallel: each has its own provider and user.
func onEach(t *testing.T, test func(t *testing.T, e *env)) {
	for _, k := range keyrings {
		t.Run(k, func(t *testing.T) {
			t.Parallel()
			test(t, newEnvOn(t, k))
		})
	}
}

// forceChunks sets a small item limit so that stores split secrets into
// chunk items. On KeePassXC too: a chunked store is a burst of writes,
// which regcred keeps out of KeePassXC's saves (before it did, such bursts
// crashed KeePassXC 2.7.4 in 3 of 8 runs of 20 chunked stores).
func (e *env) forceChunks(limit int) {
	e.vars["REGCRED_ITEM_LIMIT"] = fmt.Sprint(limit)
}

// result is what one helper process did.
type result struct {
	stdout, stderr string
	code           int
}

func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	r, err := launch.Run(e.bin, e.vars, stdin, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return result{r.Stdout, r.Stderr, r.Code}
}

// program drives the binary through docker-credential-helpers' client
// package, the code docker's CLI uses to call helpers.
func (e *env) program() client.ProgramFunc {
	return client.NewShellProgramFuncWithEnv(e.bin, &e.vars)
}

func (e *env) mustStore(server, user, secret string) {
	e.t.Helper()
	if err := client.Store(e.program(), &credentials.Credentials{ServerURL: server, Username: user, Secret: secret}); err != nil {
		e.t.Fatalf("store %s: %v", server, err)
	}
}

func (e *env) list() map[string]string {
	e.t.Helper()
	l, err := client.List(e.program())
	if err != nil {
		e.t.Fatalf("list: %v", err)
	}
	return l
}

// keyring is every item the keyring holds: account, label and secret.
func (e *env) keyring() string {
	e.t.Helper()
	s, err := e.kr.Snapshot(keyring.Service)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func storeJSON(server, user, secret string) string {
	b, _ := json.Marshal(credentials.Credentials{ServerURL: server, Username: user, Secret: secret})
	return string(b)
}

func TestProtocolStore(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		const server = "registry.example:5000"

		e.mustStore(server, "alice", "first")
		e.mustStore(server, "alice", "second") // silent overwrite
		if r := e.run(server, "get"); r.stdout != `{"ServerURL":"registry.example:5000","Username":"alice","Secret":"second"}`+"\n" {
			t.Errorf("after overwrite get printed %q", r.stdout)
		}
		e.mustStore(server, "bob", "third") // overwrite with another username
		got, err := client.Get(e.program(), server)
		if err != nil || got.Username != "bob" || got.Secret != "third" {
			t.Errorf("after overwrite with another username: %+v, %v", got, err)
		}
		e.mustStore("empty.example", "carol", "") // empty secret is accepted
		got, err = client.Get(e.program(), "empty.example")
		if err != nil || got.Username != "carol" || got.Secret != "" {
			t.Errorf("empty secret: %+v, %v", got, err)
		}

		before, beforeKeyring := e.list(), e.keyring()
		bad := []struct {
			name, in, want string
		}{
			{"missing ServerURL", `{"Username":"u","Secret":"s"}`, "no credentials server URL"},
			{"missing Username", `{"ServerURL":"x.example","Secret":"s"}`, "no credentials username"},
			{"invalid JSON", `{"ServerURL":`, "invalid input: want one JSON object"},
			{"not an object", `["x.example","u","s"]`, "invalid input: want one JSON object"},
			{"number field", `{"ServerURL":"x.example","Username":1,"Secret":"s"}`, "invalid input: Username must be a string"},
			{"null secret", `{"ServerURL":"x.example","Username":"u","Secret":null}`, "invalid input: Secret must be a string"},
			{"trailing data", storeJSON("x.example", "u", "s") + `{}`, "invalid input: data after the JSON object"},
			{"newline in server", storeJSON("x.example\nevil", "u", "s"), "invalid server URL: contains white space or a control character"},
			{"userinfo in server", storeJSON("https://u:hunter2@x.example", "u", "s"), "invalid server URL: credentials inside the address"},
			{"line over 64 KiB", storeJSON("x.example", "u", strings.Repeat("s", 70<<10)), "invalid input: a line longer than 65536 bytes"},
			{"over 1 MiB", strings.Repeat(" ", 1<<20) + storeJSON("x.example", "u", "s"), "invalid input: larger than 1048576 bytes"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				r := e.run(tt.in, "store")
				if r.code != 1 || !strings.HasPrefix(r.stdout, tt.want) || strings.Count(r.stdout, "\n") != 1 {
					t.Errorf("store %s: exit %d, stdout %q; want exit 1 and one line starting %q", tt.name, r.code, r.stdout, tt.want)
				}
				if r.stderr != "" || strings.Contains(r.stdout, "hunter2") {
					t.Errorf("stderr %q / stdout %q", r.stderr, r.stdout)
				}
			})
		}
		if after := e.list(); fmt.Sprint(after) != fmt.Sprint(before) || e.keyring() != beforeKeyring {
			t.Errorf("failed stores changed the store: %v -> %v", before, after)
		}
		if items, _ := e.kr.Items(keyring.Service); len(items) != 2 {
			t.Errorf("keyring holds %q, want the two stored entries", items)
		}
	})
}

func TestProtocolGet(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		e.mustStore("get.example", "alice", `p"a:ss\wörd`)
		tests := []struct {
			name, in, stdout string
			code             int
		}{
			{"exact", "get.example", `{"ServerURL":"get.example","Username":"alice","Secret":"p\"a:ss\\wörd"}` + "\n", 0},
			{"trimmed", "  get.example \n", `{"ServerURL":"get.example","Username":"alice","Secret":"p\"a:ss\\wörd"}` + "\n", 0},
			{"echoes the query", "https://get.example/", `{"ServerURL":"https://get.example/","Username":"alice","Secret":"p\"a:ss\\wörd"}` + "\n", 0},
			{"unknown", "nothing.example", "credentials not found in native keychain\n", 1},
			{"other port", "get.example:5000", "credentials not found in native keychain\n", 1},
			{"empty", "", "no credentials server URL\n", 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.run(tt.in, "get")
				if r.stdout != tt.stdout || r.code != tt.code || r.stderr != "" {
					t.Errorf("get %q: exit %d stdout %q stderr %q; want exit %d stdout %q", tt.in, r.code, r.stdout, r.stderr, tt.code, tt.stdout)
				}
			})
		}
		// The client package recognises our not-found answer as docker does.
		if _, err := client.Get(e.program(), "nothing.example"); !credentials.IsErrCredentialsNotFound(err) {
			t.Errorf("client.Get of unknown server = %v, want a credentials-not-found error", err)
		}
	})
}

// TestPlaceholdersComeBackByteForByte: KeePassXC resolves placeholders
// such as {TITLE} in its entries and refuses a secret that holds a {REF:…}
// reference; a secret or username holding any {…} comes back unchanged,
// through get and list, chunked or not, on every keyring.
func TestPlaceholdersComeBackByteForByte(t *testing.T) {
	values := []string{
		"{TITLE}",
		"{REF:U@I:00000000000000000000000000000001}",
		"{REF:P@I:46C9B1FFBD4ABC4BBB260C6190BAD20C}",
		"a{USERNAME}b{PASSWORD}c",
		"{S:FDO_SECRETS_DATA}{URL}{NOTES}{DT_SIMPLE}{ENV:HOME}",
		"{{}}{}{",
		"}{REF:T@I:x}{",
	}
	onEach(t, func(t *testing.T, e *env) {
		for i, v := range values {
			for _, chunked := range []bool{false, true} {
				server := fmt.Sprintf("ph%d-%t.example", i, chunked)
				secret := v
				if chunked {
					e.forceChunks(512)
					secret = strings.Repeat(v, 1500/len(v)+1)
				}
				e.mustStore(server, "user"+v, secret)
				delete(e.vars, "REGCRED_ITEM_LIMIT")
				want := storeJSON(server, "user"+v, secret) + "\n"
				if r := e.run(server, "get"); r.code != 0 || r.stdout != want {
					t.Errorf("get %s: exit %d, %q; want %q", server, r.code, r.stdout, want)
				}
				if got := e.list()[server]; got != "user"+v {
					t.Errorf("list shows %s's username as %q, want %q", server, got, "user"+v)
				}
				if r := e.run(server, "erase"); r.code != 0 { // the kernel keyring's quota holds a few chunked ones
					t.Errorf("erase %s: %s", server, r.stdout)
				}
			}
		}
	})
}

// TestReloginOtherLetterCase: a re-login under other letter case replaces
// the credential (host names are case-insensitive), leaving one item that
// every spelling reads; a config directory lost meanwhile changes nothing,
// as the keyring is all there is.
func TestReloginOtherLetterCase(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		e.mustStore("reg.example.com", "alice", "a")
		e.mustStore("Reg.Example.com", "bob", "b")
		for _, q := range []string{"reg.example.com", "Reg.Example.com", "REG.EXAMPLE.COM"} {
			want := storeJSON(q, "bob", "b") + "\n"
			if r := e.run(q, "get"); r.code != 0 || r.stdout != want {
				t.Errorf("get %s: exit %d %q; want %q", q, r.code, r.stdout, want)
			}
		}
		if items, err := e.kr.Items(keyring.Service); err != nil || len(items) != 1 {
			t.Errorf("the keyring holds %q (%v), want one item", items, err)
		}
		if got := e.list(); len(got) != 1 || got["Reg.Example.com"] != "bob" {
			t.Errorf("list = %v, want Reg.Example.com: bob", got)
		}
		home := e.vars["HOME"]
		if err := os.RemoveAll(filepath.Join(home, ".config", "regcred")); err != nil {
			t.Fatal(err)
		}
		if got := e.list(); len(got) != 1 || got["Reg.Example.com"] != "bob" {
			t.Errorf("with the config directory gone list = %v, want Reg.Example.com: bob", got)
		}
	})
}

func TestProtocolErase(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		e.mustStore("erase.example", "alice", "s")
		e.mustStore("keep.example", "bob", "s")
		if err := client.Erase(e.program(), "erase.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Get(e.program(), "erase.example"); !credentials.IsErrCredentialsNotFound(err) {
			t.Errorf("after erase get = %v", err)
		}
		// docker logout erases several spellings; unknown ones succeed.
		for _, s := range []string{"erase.example", "https://erase.example", "http://erase.example", "never.example"} {
			if r := e.run(s, "erase"); r.code != 0 || r.stdout != "" {
				t.Errorf("erase %q: exit %d stdout %q", s, r.code, r.stdout)
			}
		}
		if l := e.list(); len(l) != 1 || l["keep.example"] != "bob" {
			t.Errorf("list after erases = %v", l)
		}
	})
}

func TestProtocolList(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		if r := e.run("", "list"); r.stdout != "{}\n" || r.code != 0 {
			t.Errorf("empty list printed %q (exit %d), want {}", r.stdout, r.code)
		}
		servers := map[string]string{
			"https://index.docker.io/v1/":              "alice",
			"https://index.docker.io/v1/access-token":  "alice",
			"https://index.docker.io/v1/refresh-token": "alice",
			"127.0.0.1:5000":                           "bob",
			"[::1]:5000":                               "<token>",
			"ghcr.io":                                  "carol",
		}
		for s, u := range servers {
			e.mustStore(s, u, "secret-for-"+s)
		}
		l := e.list()
		if fmt.Sprint(l) != fmt.Sprint(servers) {
			t.Errorf("list = %v, want %v", l, servers)
		}
		for key, user := range l {
			c, err := client.Get(e.program(), key)
			if err != nil || c.Username != user || c.Secret != "secret-for-"+key {
				t.Errorf("list key %q fed to get: %+v, %v", key, c, err)
			}
		}
	})
}

// TestListReadsWhatGetReads leaves a credential's item with the label of
// an earlier login, as a re-login killed between the secret and the label
// leaves it on KeePassXC and KWallet (which write them apart), and checks
// list names the username get returns. gnome-keyring writes both in one
// call, so there list reads labels alone, and a label set by hand shows.
func TestListReadsWhatGetReads(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		if e.session == nil {
			t.Skip("the kernel keyring keeps no label apart from the item")
		}
		e.mustStore("ghcr.io", "new-user", "s3cret")
		if err := e.session.SetLabel(keyring.Service, "ghcr.io", "Registry credentials for ghcr.io (old-user)"); err != nil {
			t.Fatal(err)
		}
		want := "new-user"
		if e.session.Provider == launch.GnomeKeyring {
			want = "old-user" // proof the label was set, and is what list reads here
		}
		if l := e.list(); len(l) != 1 || l["ghcr.io"] != want {
			t.Errorf("list = %v, want ghcr.io: %s", l, want)
		}
		if c, err := client.Get(e.program(), "ghcr.io"); err != nil || c.Username != "new-user" {
			t.Errorf("get = %+v, %v; want new-user", c, err)
		}
	})
}

func TestProtocolIdentityTokenAndDockerHub(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		e.mustStore("https://index.docker.io/v1/", "<token>", "identity-token")
		e.mustStore("https://index.docker.io/v1/access-token", "alice", "access")
		e.mustStore("https://index.docker.io/v1/refresh-token", "alice", "refresh")
		for _, q := range []string{"https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"} {
			c, err := client.Get(e.program(), q)
			if err != nil || c.Username != "<token>" || c.Secret != "identity-token" || c.ServerURL != q {
				t.Errorf("get %q = %+v, %v", q, c, err)
			}
		}
		for _, sib := range []string{"access-token", "refresh-token"} {
			c, err := client.Get(e.program(), "https://index.docker.io/v1/"+sib)
			if err != nil || c.Secret != strings.TrimSuffix(sib, "-token") {
				t.Errorf("sibling %s = %+v, %v", sib, c, err)
			}
		}
		if err := client.Erase(e.program(), "https://index.docker.io/v1/"); err != nil {
			t.Fatal(err)
		}
		if l := e.list(); len(l) != 2 {
			t.Errorf("erasing the Hub entry touched its siblings: %v", l)
		}
	})
}

func TestProtocolVersionAndUsage(t *testing.T) {
	e := &env{t: t, vars: map[string]string{"PATH": os.Getenv("PATH")}, bin: helperBin()} // needs no keyring
	usage := "Usage: docker-credential-regcred <store|get|erase|list|version>\n"
	version := "docker-credential-regcred (github.com/regcred/regcred) " + launch.TestVersion + "\n"
	tests := []struct {
		args   []string
		stdout string
		code   int
	}{
		{[]string{"version"}, version, 0},
		{[]string{"--version"}, version, 0},
		{[]string{"-v"}, version, 0},
		// The upstream helpers' usage line, then what regcred is and its commands.
		{[]string{"--help"}, usage + "\ndocker-credential-regcred keeps", 0},
		{[]string{"-h"}, usage + "\ndocker-credential-regcred keeps", 0},
		{[]string{"help"}, usage + "\ndocker-credential-regcred keeps", 0},
		{nil, usage, 1},
		{[]string{"frobnicate"}, "docker-credential-regcred: unknown action: frobnicate. " + usage, 1},
		{[]string{"\x1b[2J"}, `docker-credential-regcred: unknown action: "\x1b[2J". ` + usage, 1},
		{[]string{"get", "extra"}, usage, 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := e.run("", tt.args...)
			got := r.stdout
			if strings.HasSuffix(tt.stdout, " keeps") {
				got = got[:min(len(got), len(tt.stdout))]
			}
			if got != tt.stdout || r.code != tt.code || r.stderr != "" {
				t.Errorf("%v: exit %d stdout %q stderr %q; want exit %d stdout %q", tt.args, r.code, r.stdout, r.stderr, tt.code, tt.stdout)
			}
		})
	}
}

func TestProtocolChunkedThroughBinary(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		e.forceChunks(512)
		big := strings.Repeat("ecr-token-", 615) // 6150 bytes
		e.mustStore("123456789012.dkr.ecr.us-east-1.amazonaws.com", "AWS", big)
		c, err := client.Get(e.program(), "123456789012.dkr.ecr.us-east-1.amazonaws.com")
		if err != nil || c.Secret != big {
			t.Fatalf("chunked get: %d bytes, %v", len(c.Secret), err)
		}
		items, _ := e.kr.Items(keyring.Service)
		if len(items) < 13 {
			t.Errorf("a 6 KiB secret at a 512-byte limit is in %d items, want at least 13", len(items))
		}
		e.mustStore("123456789012.dkr.ecr.us-east-1.amazonaws.com", "AWS", "short")
		if items, _ := e.kr.Items(keyring.Service); len(items) != 1 {
			t.Errorf("overwrite with a small value left %d items: %q", len(items), items)
		}
		e.vars["REGCRED_ITEM_LIMIT"] = "12"
		if r := e.run("", "list"); r.code != 1 || !strings.Contains(r.stdout, "REGCRED_ITEM_LIMIT") {
			t.Errorf("bad REGCRED_ITEM_LIMIT: exit %d stdout %q", r.code, r.stdout)
		}
	})
}

// TestProtocolNoSecretOutsideGet stores and reads a credential and checks
// the secret appears on no stream but get's answer.
func TestProtocolNoSecretOutsideGet(t *testing.T) {
	onEach(t, func(t *testing.T, e *env) {
		const secret = "SECRET-b3c9d2e1"
		for _, step := range []struct {
			in   string
			args []string
			code int    // how the step must end, or it proves nothing
			out  string // what it must print (get alone prints the secret)
		}{
			{storeJSON("hyg.example", "alice", secret), []string{"store"}, 0, ""},
			{"hyg.example", []string{"get"}, 0, `{"ServerURL":"hyg.example","Username":"alice","Secret":"` + secret + `"}` + "\n"},
			{"", []string{"list"}, 0, `{"hyg.example":"alice"}` + "\n"},
			{"", []string{"ls"}, 0, ""},
			{"", []string{"doctor"}, 1, ""},
			{"hyg.example", []string{"erase"}, 0, ""},
			{storeJSON("hyg.example", "alice", secret) + "x", []string{"store"}, 1, ""},
			{storeJSON("https://alice:"+secret+"@hyg.example", "alice", secret), []string{"store"}, 1, ""},
		} {
			r := e.run(step.in, step.args...)
			if r.code != step.code || step.out != "" && r.stdout != step.out {
				t.Errorf("%v: exit %d, stdout %q; want exit %d%s", step.args, r.code, r.stdout, step.code, map[bool]string{true: " and " + step.out}[step.out != ""])
			}
			if step.args[0] != "get" && strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("%v leaked the secret: stdout %q stderr %q", step.args, r.stdout, r.stderr)
			}
		}
		testenv.NoPlaintext(t, e.kr, secret)
	})
}
