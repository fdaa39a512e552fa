package manage

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/internal/atomicfile"
	"github.com/regcred/regcred/store"
)

// tokenUsername is the username docker stores identity tokens under.
const tokenUsername = "<token>"

// secretservicePrefix starts the keys docker-credential-secretservice 0.9.x
// lists: its items' display labels, not their addresses.
const secretservicePrefix = "Registry credentials for "

// authEntry is one config.json "auths" entry.
type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// credential returns the entry's credential as docker's native store
// would write it (an identity token under "<token>"), or ok false.
func (a authEntry) credential() (user, secret string, ok bool, err error) {
	if a.IdentityToken != "" {
		return tokenUsername, a.IdentityToken, true, nil
	}
	user, secret = a.Username, a.Password
	if a.Auth != "" {
		raw, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			return "", "", false, errors.New(`"auth" is not base64`)
		}
		u, p, found := strings.Cut(string(raw), ":")
		if !found {
			return "", "", false, errors.New(`"auth" is not base64 of user:password`)
		}
		user, secret = u, p
	}
	return user, secret, user != "", nil
}

// plaintextAuths returns the auths entries that hold a secret, by server.
func plaintextAuths(cfg *dockerConfig) map[string]authEntry {
	var auths map[string]authEntry
	if cfg.get("auths", &auths) != nil {
		return nil
	}
	out := map[string]authEntry{}
	for server, a := range auths {
		if a.Auth != "" || a.Password != "" || a.IdentityToken != "" || a.RegistryToken != "" {
			out[server] = a
		}
	}
	return out
}

func (r *runner) importCmd(args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(r.stderr)
	fromConfig := fs.Bool("from-config", false, "move plaintext credentials from a docker config.json (default: docker's own)")
	fromHelper := fs.String("from-helper", "", "copy everything another credential helper holds (secretservice, pass, desktop, …)")
	keep := fs.Bool("keep", false, "with --from-config: copy, leaving the file as it is")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	switch {
	case *fromConfig == (*fromHelper != ""):
		return errors.New("give one of --from-config [PATH] or --from-helper NAME")
	case *fromHelper != "":
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		return r.importHelper(*fromHelper)
	}
	path := ""
	switch fs.NArg() {
	case 0:
		p, err := ConfigPath(r.getenv)
		if err != nil {
			return err
		}
		path = p
	case 1:
		path = fs.Arg(0)
	default:
		return errors.New("--from-config takes at most one PATH")
	}
	return r.importConfig(path, *keep)
}

// importConfig moves plaintext auths into the keyring, then scrubs them
// from the file, leaving "HOST": {} as docker does. If any keyring write
// fails, the file is left exactly as it was.
func (r *runner) importConfig(path string, keep bool) error {
	cfg, err := loadDockerConfig(path)
	if err != nil {
		return err
	}
	if !cfg.exists {
		return fmt.Errorf("%s does not exist", path)
	}
	var auths map[string]json.RawMessage
	if err := cfg.get("auths", &auths); err != nil {
		return err
	}
	found := plaintextAuths(cfg)
	if len(found) == 0 {
		fmt.Fprintf(r.stdout, "%s holds no plaintext credentials: nothing to import\n", path)
		return nil
	}
	servers, shadowed := dockerChoice(sortedKeys(found))
	for _, server := range servers {
		if _, _, ok, err := found[server].credential(); err != nil || !ok {
			if err == nil {
				err = errors.New("has a secret but no username")
			}
			return fmt.Errorf("%s: entry %s: %v; nothing was changed in the file", path, server, err)
		}
	}
	st, err := r.open()
	if err != nil {
		return err
	}
	for _, server := range servers {
		user, secret, _, _ := found[server].credential()
		if err := st.Put(r.ctx, store.Credential{ServerURL: server, Username: user, Secret: secret}); err != nil {
			return fmt.Errorf("%s: %w; the file is unchanged", server, err)
		}
	}
	for _, key := range sortedKeys(shadowed) {
		fmt.Fprintf(r.stderr, "skipped %s: %s names the same registry and is the one docker uses; %s stays in %s\n", key, shadowed[key], key, path)
	}
	if !keep {
		for _, server := range servers {
			auths[server] = json.RawMessage("{}")
		}
		if err := cfg.set("auths", auths); err != nil {
			return err
		}
		// No backup: it would keep the very secrets being removed.
		if err := cfg.save(false); err != nil {
			return err
		}
		if err := scrubBackup(cfg.target() + backupSuffix); err != nil {
			return err
		}
	}
	verb := "moved"
	if keep {
		verb = "copied"
	}
	fmt.Fprintf(r.stdout, "%s %d credential(s) from %s into the keyring: %s\n", verb, len(servers), path, strings.Join(servers, ", "))
	return nil
}

// dockerChoice picks, among keys naming the same registry, the one docker
// itself would use, and returns the others as shadowed → chosen. Docker
// looks a registry up by one key — "https://index.docker.io/v1/" for Docker
// Hub, the bare host[:port] otherwise — and only without an exact match by
// any key whose host matches (the first it meets: map order, so random).
// Without an exact key the lexically first with the right host stands in.
func dockerChoice(keys []string) (chosen []string, shadowed map[string]string) {
	groups := map[string][]string{}
	for _, k := range keys {
		c := store.CanonicalServer(k)
		groups[c] = append(groups[c], k)
	}
	shadowed = map[string]string{}
	for _, canon := range sortedKeys(groups) {
		g := groups[canon]
		lookup := canon
		if canon == store.CanonicalServer(store.DockerHubServer) {
			lookup = store.DockerHubServer
		}
		best := g[0]
		for _, k := range g {
			if k == lookup {
				best = k
				break
			}
			if dockerHost(k) == dockerHost(lookup) && dockerHost(best) != dockerHost(lookup) {
				best = k
			}
		}
		chosen = append(chosen, best)
		for _, k := range g {
			if k != best {
				shadowed[k] = best
			}
		}
	}
	return chosen, shadowed
}

// dockerHost is docker's ConvertToHostname: the address without scheme
// and path.
func dockerHost(addr string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
	host, _, _ := strings.Cut(s, "/")
	return host
}

// scrubBackup removes plaintext secrets from a backup of config.json that an
// earlier regcred wrote with them.
func scrubBackup(path string) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	clean, err := withoutSecrets(raw)
	if err != nil || bytes.Equal(clean, raw) {
		return err
	}
	mode := fs.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return atomicfile.WriteFile(path, clean, mode)
}

// importHelper copies every credential another helper holds, through the
// helper protocol (list, then get each).
func (r *runner) importHelper(name string) error {
	if strings.ContainsAny(name, "/\\") || name == "" {
		return fmt.Errorf("helper name %q: give the part after docker-credential-, e.g. secretservice", name)
	}
	if name == HelperSuffix {
		return errors.New("cannot import from regcred into itself")
	}
	bin := "docker-credential-" + name
	if _, err := r.lookPath(bin); err != nil {
		return fmt.Errorf("%s is not on PATH", bin)
	}
	prog := client.NewShellProgramFunc(bin)
	list, err := client.List(prog)
	if err != nil {
		return fmt.Errorf("%s list: %w", bin, err)
	}
	st, err := r.open()
	if err != nil {
		return err
	}
	var moved, skipped []string
	for _, key := range sortedKeys(list) {
		server := strings.TrimPrefix(key, secretservicePrefix)
		c, err := client.Get(prog, server)
		if err != nil && server != key {
			c, err = client.Get(prog, key)
		}
		if credentials.IsErrCredentialsNotFound(err) {
			skipped = append(skipped, key)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s get %s: %w", bin, server, err)
		}
		if err := st.Put(r.ctx, store.Credential{ServerURL: server, Username: c.Username, Secret: c.Secret}); err != nil {
			return fmt.Errorf("%s: %w", server, err)
		}
		moved = append(moved, server)
	}
	fmt.Fprintf(r.stdout, "copied %d credential(s) from %s into the keyring: %s\n", len(moved), bin, strings.Join(moved, ", "))
	if len(skipped) > 0 {
		fmt.Fprintf(r.stderr, "%s listed but could not return: %s\n", bin, strings.Join(skipped, ", "))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
