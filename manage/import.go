package manage

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/regcred/regcred/store/address"

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

// optionalPath is a flag that may be given bare (--from-config) or with a
// value (--from-config PATH, --from-config=PATH).
type optionalPath struct {
	set  bool
	path string
}

func (o *optionalPath) String() string   { return o.path }
func (o *optionalPath) IsBoolFlag() bool { return true }
func (o *optionalPath) Set(v string) error {
	switch v {
	case "true":
		o.set = true
	case "false":
		o.set, o.path = false, ""
	default:
		o.set, o.path = true, v
	}
	return nil
}

func (r *runner) importCmd(args []string) error {
	fs := flags("import")
	var fromConfig optionalPath
	fs.Var(&fromConfig, "from-config", "move plaintext credentials from the one file at `path`: a docker config.json, ~/.dockercfg, a containers auth.json or helm's registry config (default: every one of them)")
	fromHelper := fs.String("from-helper", "", "copy everything the credential helper docker-credential-`name` holds (secretservice, pass, desktop, …)")
	keep := fs.Bool("keep", false, "copy, leaving the files as they are")
	if err := r.parse(fs, args); err != nil {
		return err
	}
	if fromConfig.set && *fromHelper != "" {
		return errors.New("give one of --from-config [PATH] or --from-helper NAME")
	}
	if *fromHelper != "" {
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		return r.importHelper(*fromHelper)
	}
	path := fromConfig.path
	switch {
	case fs.NArg() == 1 && fromConfig.set && path == "":
		path = fs.Arg(0) // --from-config PATH
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q: give a file with --from-config PATH", fs.Arg(fs.NArg()-1))
	}
	if path != "" {
		return r.importFiles([]clientFile{{path: path}}, true, *keep)
	}
	files, err := r.clientFiles()
	if err != nil {
		return err
	}
	return r.importFiles(files, false, *keep)
}

// plainFile is one client file's plaintext credentials, parsed and checked.
type plainFile struct {
	clientFile
	cfg *dockerConfig
	// entries are the registry entries: "auths", or the top level of a
	// legacy ~/.dockercfg.
	entries map[string]json.RawMessage
	found   map[string]authEntry // entries that hold a secret, by key
}

// readPlain loads a client file and finds its plaintext credentials. A
// missing file holds none.
func readPlain(f clientFile) (*plainFile, error) {
	cfg, err := loadDockerConfig(f.path)
	if err != nil {
		return nil, err
	}
	p := &plainFile{clientFile: f, cfg: cfg, found: map[string]authEntry{}}
	if !cfg.exists {
		return p, nil
	}
	if _, ok := cfg.fields["auths"]; !ok && (f.legacy || looksLegacy(cfg.fields)) {
		p.legacy = true
		p.entries = cfg.fields
	} else if err := cfg.get("auths", &p.entries); err != nil {
		return nil, err
	}
	for key, raw := range p.entries {
		var a authEntry
		if json.Unmarshal(raw, &a) != nil {
			continue // not an entry any client reads
		}
		if a.Auth != "" || a.Password != "" || a.IdentityToken != "" || a.RegistryToken != "" {
			p.found[key] = a
		}
	}
	return p, nil
}

// looksLegacy reports whether a config's top level is docker's old
// ~/.dockercfg format: registries mapped to entries with an "auth".
func looksLegacy(fields map[string]json.RawMessage) bool {
	n := 0
	for _, raw := range fields {
		var e map[string]json.RawMessage
		if json.Unmarshal(raw, &e) != nil {
			return false
		}
		if _, ok := e["auth"]; ok {
			n++
		}
	}
	return n > 0
}

// countPlaintext is how many credentials a client file holds in plaintext.
func countPlaintext(f clientFile) (int, error) {
	p, err := readPlain(f)
	if err != nil {
		return 0, err
	}
	return len(p.found), nil
}

// claim is a credential this import has put in the keyring, and from where.
type claim struct {
	path, user, secret string
}

// importFiles moves plaintext credentials from files into the keyring, then
// scrubs each file, leaving "HOST": {} as docker does. Every file is read and
// checked before anything is written; a file is scrubbed only after all its
// keyring writes succeeded, and if one fails that file is left exactly as it
// was. Each moved or skipped entry gets one line. explicit is true when the
// user named the one file.
func (r *runner) importFiles(files []clientFile, explicit, keep bool) error {
	var plans []*plainFile
	var checked []string
	for _, f := range files {
		p, err := readPlain(f)
		if err != nil {
			return fmt.Errorf("%w; nothing was imported", err)
		}
		if explicit && !p.cfg.exists {
			return fmt.Errorf("%s does not exist", f.path)
		}
		if p.cfg.exists {
			checked = append(checked, f.path)
		}
		for key, a := range p.found {
			if _, _, ok, err := a.credential(); err != nil || !ok {
				if err == nil {
					err = errors.New("has a secret but no username")
				}
				return fmt.Errorf("%s: entry %s: %v; nothing was imported", f.path, key, err)
			}
		}
		if len(p.found) > 0 {
			plans = append(plans, p)
		}
	}
	if len(plans) == 0 {
		what := "no client file"
		if len(checked) > 0 {
			what = strings.Join(checked, ", ")
		}
		fmt.Fprintf(r.stdout, "%s holds no plaintext credentials: nothing to import\n", what)
		return nil
	}
	st, err := r.open()
	if err != nil {
		return err
	}
	verb := "moved"
	if keep {
		verb = "copied"
	}
	claimed := map[string]claim{}
	moved, from := 0, 0
	for _, p := range plans {
		keys, shadowed := dockerChoice(sortedKeys(p.found))
		var done []string
		for _, key := range keys {
			user, secret, _, _ := p.found[key].credential()
			canon := address.Canonical(key)
			if c, ok := claimed[canon]; ok && (c.user != user || c.secret != secret) {
				fmt.Fprintf(r.stderr, "skipped %s in %s: %s gave this registry another credential, which is the one imported; it stays in the file (import it alone with --from-config %s)\n", key, p.path, c.path, p.path)
				continue
			}
			if err := st.Put(r.ctx, store.Credential{ServerURL: key, Username: user, Secret: secret}); err != nil {
				return fmt.Errorf("%s: %s: %w; the file is unchanged", p.path, key, err)
			}
			claimed[canon] = claim{path: p.path, user: user, secret: secret}
			done = append(done, key)
		}
		for _, key := range sortedKeys(shadowed) {
			fmt.Fprintf(r.stderr, "skipped %s in %s: %s names the same registry and is the one docker uses; %s stays in the file\n", key, p.path, shadowed[key], key)
		}
		if !keep && len(done) > 0 {
			if err := p.scrub(done); err != nil {
				return err
			}
		}
		for _, key := range done {
			user, _, _, _ := p.found[key].credential()
			fmt.Fprintf(r.stdout, "%s %s (%s) from %s\n", verb, key, user, p.path)
		}
		moved += len(done)
		if len(done) > 0 {
			from++
		}
	}
	if from == 1 {
		fmt.Fprintf(r.stdout, "%s %d credential(s) into the keyring\n", verb, moved)
	} else {
		fmt.Fprintf(r.stdout, "%s %d credential(s) into the keyring from %d files\n", verb, moved, from)
	}
	return nil
}

// scrub removes the secrets of the given entries from the file, leaving
// "HOST": {} (with a legacy ~/.dockercfg, the entry's other fields), and
// from any backup an earlier regcred left beside it. No backup is written:
// it would keep the very secrets being removed.
func (p *plainFile) scrub(keys []string) error {
	for _, key := range keys {
		var e map[string]json.RawMessage
		if json.Unmarshal(p.entries[key], &e) != nil || !p.legacy {
			e = map[string]json.RawMessage{}
		}
		for k := range e {
			for _, f := range secretFields {
				if strings.EqualFold(k, f) {
					delete(e, k)
				}
			}
		}
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		p.entries[key] = raw
	}
	if !p.legacy {
		if err := p.cfg.set("auths", p.entries); err != nil {
			return err
		}
	}
	if err := p.cfg.save(false); err != nil {
		return err
	}
	return scrubBackup(p.cfg.target() + backupSuffix)
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
		c := address.Canonical(k)
		groups[c] = append(groups[c], k)
	}
	shadowed = map[string]string{}
	for _, canon := range sortedKeys(groups) {
		g := groups[canon]
		lookup := canon
		if canon == address.Canonical(address.DockerHub) {
			lookup = address.DockerHub
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
