package manage

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/regcred/regcred/store"
)

// chooseKeyring records the keyring credentials go to: name, or when name
// is empty the one already recorded, else the detected one. Switching
// from a keyring that holds credentials moves them unless noMove: each is
// copied and read back, the new choice recorded, and only then are they
// erased from the old keyring, so that nothing is lost at any step.
func (r *runner) chooseKeyring(name string, noMove bool) error {
	env := store.Env{Getenv: r.getenv}
	if name == "" { // the keyring in effect, recorded if it was not
		o, err := r.openKeyring()
		if err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "credentials are kept in the %s (%s)\n", o.Keyring.Name(), o.Choice.Why)
		return nil
	}
	from, err := store.Recorded(r.getenv)
	if err != nil {
		return err
	}
	if from == "" {
		cfg, err := store.ConfigFromEnv(r.getenv)
		if err != nil {
			return err
		}
		cfg.LegacyIndex = "" // what holds credentials now, not what an older version used
		c, _ := store.Detect(r.ctx, cfg, r.getenv)
		from = c.Name
	}
	to, err := store.OpenNamed(r.ctx, env, name)
	if err != nil {
		return err
	}
	if name == from {
		if err := store.Record(r.getenv, recorded(to, "")); err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "credentials are kept in the %s (recorded)\n", name)
		return nil
	}
	if noMove {
		if err := store.Record(r.getenv, recorded(to, " --no-move")); err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "credentials are now kept in the %s; those in the %s stay there (--no-move)\n", to.Keyring.Name(), from)
		return nil
	}
	return r.move(env, from, to)
}

// move moves every credential from the keyring from to the store to, and
// records to as the choice.
func (r *runner) move(env store.Env, from string, to store.Opened) error {
	src, err := store.OpenNamed(r.ctx, env, from)
	if err != nil {
		return err
	}
	old, dst := src.Store, to.Store
	list, err := old.List(r.ctx)
	if err != nil {
		return fmt.Errorf("cannot read the %s to move its credentials (%w): run this where it answers, or add --no-move to leave them there", src.Keyring.Name(), err)
	}
	servers := slices.Sorted(maps.Keys(list))
	for _, server := range servers {
		c, err := old.Get(r.ctx, server)
		if err != nil {
			return fmt.Errorf("read %s from the %s: %w; nothing was moved", server, src.Keyring.Name(), err)
		}
		if err := dst.Put(r.ctx, c); err != nil {
			return fmt.Errorf("copy %s to the %s: %w; the %s still holds every credential", server, to.Keyring.Name(), err, src.Keyring.Name())
		}
		if back, err := dst.Get(r.ctx, server); err != nil || back != c {
			return fmt.Errorf("%s did not read back from the %s (%v); the %s still holds every credential", server, to.Keyring.Name(), err, src.Keyring.Name())
		}
	}
	if err := store.Record(r.getenv, recorded(to, "")); err != nil {
		return fmt.Errorf("%w; the credentials are in both keyrings", err)
	}
	var failed []error
	for _, server := range servers {
		if err := old.Erase(r.ctx, server); err != nil {
			failed = append(failed, err)
		}
	}
	fmt.Fprintf(r.stdout, "moved %d credential(s) from the %s to the %s; credentials are now kept there\n", len(servers), src.Keyring.Name(), to.Keyring.Name())
	if len(failed) > 0 {
		return fmt.Errorf("%w (they are copied; erase them from the %s by hand)", errors.Join(failed...), src.Keyring.Name())
	}
	return nil
}

// recorded is the choice configure records for the keyring to: its name
// and, for the Windows keyring, where the Windows build is.
func recorded(to store.Opened, flags string) store.Choice {
	c := to.Choice
	c.Why = "configure --backend " + c.Name + flags
	return c
}
