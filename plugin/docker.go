package plugin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/internal/helperexec"
	"github.com/regcred/regcred/internal/oneline"
	"github.com/regcred/regcred/kube/dockerconfig"
)

// The credential sources --from names.
const (
	// fromDocker resolves each registry as the docker CLI does.
	fromDocker = "docker"
	// fromKeyring reads regcred's own keyring only.
	fromKeyring = "keyring"
)

// selfHelper is the name docker's config gives regcred as a credential
// helper: read in-process, never through a second process.
const selfHelper = "regcred"

// DefaultHelperTimeout bounds each call of another credential helper.
const DefaultHelperTimeout = 30 * time.Second

// helperParallel bounds the credential helpers running at once.
const helperParallel = 4

// dockerSource resolves credentials as the docker CLI does from
// $DOCKER_CONFIG/config.json (docker's own configfile package reads it):
// credHelpers[host] names the helper for a host, else credsStore the one
// for every host, else the file's auths hold them in plain text. Every
// registry is docker's own union: the default store's list (or the file's
// auths) and each credHelpers host.
type dockerSource struct {
	o    *options
	cfg  *configfile.ConfigFile
	mu   sync.Mutex
	got  map[string]gotCred // get's answers, by server: one call each
	self *keyring           // regcred's keyring, opened on first use
}

type gotCred struct {
	reg dockerconfig.Registry
	ok  bool
	err error
}

// openDocker reads docker's config and lists every registry it holds
// credentials for: one list of the default store, one get of each
// credHelpers host (their username is the helper's to tell), bounded in
// parallel. A helper that fails is named on one line; the others count.
func (o *options) openDocker(ctx context.Context) (*keyring, error) {
	dir := os.Getenv(config.EnvOverrideConfigDir) // DOCKER_CONFIG, read afresh
	if dir == "" {
		dir = config.Dir()
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("docker's config: %w", err)
	}
	if cfg.CredentialsStore == "" && len(cfg.CredentialHelpers) == 0 && len(cfg.AuthConfigs) == 0 {
		return nil, fmt.Errorf("docker's config (%s) names no credential store and holds no credentials: log in with docker login, or read regcred's keyring with --from keyring", filepath.Join(dir, config.ConfigFileName))
	}
	d := &dockerSource{o: o, cfg: cfg, got: map[string]gotCred{}}
	k := &keyring{list: map[string]string{}, get: d.get, unlisted: d.unlisted, prefetch: d.prefetch, source: "docker's credentials"}
	if cfg.CredentialsStore != "" {
		list, err := d.listStore(ctx, cfg.CredentialsStore)
		if err != nil {
			fmt.Fprintf(o.env.Stderr, "error: %s\n", oneline.Error(err))
			k.failed++
		}
		maps.Copy(k.list, list)
	} else {
		plain := []string{}
		for server, a := range cfg.GetAuthConfigs() {
			user := a.Username
			if a.IdentityToken != "" {
				user = "<token>"
			}
			if a.Password == "" && a.IdentityToken == "" {
				continue // an entry docker keeps for the email alone
			}
			k.list[server] = user
			d.got[server] = gotCred{reg: dockerconfig.Registry{Server: server, Username: a.Username, Password: a.Password}, ok: true}
			plain = append(plain, server)
		}
		if len(plain) > 0 {
			slices.Sort(plain)
			fmt.Fprintf(o.env.Stderr, "note: docker keeps %s in plain text in %s; docker-credential-regcred import moves them to the OS keyring\n", strings.Join(plain, ", "), cfg.Filename)
		}
	}
	hosts := slices.Sorted(maps.Keys(cfg.CredentialHelpers))
	d.prefetch(ctx, hosts)
	for _, h := range hosts {
		g := d.got[h]
		switch {
		case g.err != nil:
			fmt.Fprintf(o.env.Stderr, "error: %s: %s\n", h, oneline.Error(g.err))
			k.failed++
			delete(k.list, h)
		case g.ok:
			k.list[h] = g.reg.Username
		default:
			delete(k.list, h) // the helper has nothing for it: docker sends nothing
		}
	}
	return k, nil
}

// helperFor is the helper docker asks for server's credentials: its
// credHelpers entry, else credsStore ("" for the file's auths).
func (d *dockerSource) helperFor(server string) string {
	if h, ok := d.cfg.CredentialHelpers[server]; ok {
		return h
	}
	return d.cfg.CredentialsStore
}

// prefetch gets the servers' credentials, helperParallel at a time.
func (d *dockerSource) prefetch(ctx context.Context, servers []string) {
	sem := make(chan struct{}, helperParallel)
	var wg sync.WaitGroup
	for _, s := range servers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d.get(ctx, s) //nolint:errcheck // kept in d.got
		})
	}
	wg.Wait()
}

// get returns server's credential from where docker takes it, asking
// each source once.
func (d *dockerSource) get(ctx context.Context, server string) (dockerconfig.Registry, bool, error) {
	d.mu.Lock()
	g, done := d.got[server]
	d.mu.Unlock()
	if done {
		return g.reg, g.ok, g.err
	}
	g = d.fetch(ctx, server)
	d.mu.Lock()
	d.got[server] = g
	d.mu.Unlock()
	return g.reg, g.ok, g.err
}

func (d *dockerSource) fetch(ctx context.Context, server string) gotCred {
	helper := d.helperFor(server)
	if helper == "" {
		return gotCred{} // the file's auths were read whole
	}
	if helper == selfHelper {
		self, err := d.selfKeyring(ctx)
		if err != nil {
			return gotCred{err: err}
		}
		r, ok, err := self.get(ctx, server)
		return gotCred{reg: r, ok: ok, err: err}
	}
	var run call
	c, err := client.Get(d.program(ctx, helper, &run), server)
	if credentials.IsErrCredentialsNotFound(err) {
		return gotCred{}
	}
	if err != nil {
		return gotCred{err: d.helperError(helper, &run, err)}
	}
	user := c.Username
	return gotCred{reg: dockerconfig.Registry{Server: server, Username: user, Password: c.Secret}, ok: true}
}

// unlisted finds a registry the lists lack, as docker's pull would: its
// helper asked directly (ecr-login and gcloud list nothing).
func (d *dockerSource) unlisted(ctx context.Context, query string) (string, bool) {
	if d.helperFor(query) == "" {
		return "", false
	}
	_, ok, err := d.get(ctx, query)
	return query, ok && err == nil
}

// listStore lists the default store's registries.
func (d *dockerSource) listStore(ctx context.Context, helper string) (map[string]string, error) {
	if helper == selfHelper {
		self, err := d.selfKeyring(ctx)
		if err != nil {
			return nil, err
		}
		return self.list, nil
	}
	var run call
	list, err := client.List(d.program(ctx, helper, &run))
	if err != nil {
		return nil, d.helperError(helper, &run, err)
	}
	// docker-credential-secretservice 0.9.x lists each item's display
	// label ("Registry credentials for ghcr.io") where the protocol wants
	// the server: docker's own union then finds nothing, though a pull
	// (a get by server) works. Read the server back out of the label.
	out := make(map[string]string, len(list))
	for server, user := range list {
		out[strings.TrimPrefix(server, secretserviceLabel)] = user
	}
	return out, nil
}

func (d *dockerSource) selfKeyring(ctx context.Context) (*keyring, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.self != nil {
		return d.self, nil
	}
	k, err := d.o.openStore(ctx)
	if err != nil {
		return nil, err
	}
	d.self = k
	return k, nil
}

// secretserviceLabel begins the display label docker-credential-secretservice
// gives its items (see listStore).
const secretserviceLabel = "Registry credentials for "

// call is what one run of a helper met, for helperError: the client
// package words every failure as text.
type call = helperexec.Run

// helperError words a helper's failure in one line that names it.
func (d *dockerSource) helperError(helper string, run *call, err error) error {
	name := "docker-credential-" + helper
	switch {
	case errors.Is(run.Err, exec.ErrNotFound):
		return fmt.Errorf("%s, which docker's config names, is not installed (not found in PATH %s): install it, or change docker's config", name, os.Getenv("PATH"))
	case errors.Is(run.Err, context.DeadlineExceeded):
		return fmt.Errorf("%s did not answer within %s: it may be waiting for a passphrase or an unlocked keychain; run %s list in a terminal to unlock it, then re-run (or raise --helper-timeout)", name, d.o.helperTimeout, name)
	case run.Err != nil && run.Stderr != "":
		return fmt.Errorf("%s failed: %s", name, clip(oneline.Error(errors.New(run.Stderr)), 200))
	}
	return fmt.Errorf("%s failed: %s", name, clip(oneline.Error(err), 200))
}

// clip shortens s to at most n bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// program runs a credential helper as the protocol prescribes — the
// request on stdin, the answer on stdout, nothing secret on its command
// line — bounded by --helper-timeout.
func (d *dockerSource) program(ctx context.Context, helper string, run *call) client.ProgramFunc {
	return helperexec.Program(ctx, helperexec.Options{Path: "docker-credential-" + helper, Timeout: d.o.helperTimeout, Record: run})
}
