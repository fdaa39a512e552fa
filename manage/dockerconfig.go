// Package manage holds docker-credential-regcred's local management
// commands: configure (point docker at regcred), import (move credentials
// in from a plaintext config.json or another helper), doctor (check and
// repair the set-up) and ls. The protocol itself is package helper's.
package manage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/regcred/regcred/internal/atomicfile"
)

// HelperSuffix is what docker appends to "docker-credential-" to find us.
const HelperSuffix = "regcred"

// dockerConfig is docker's config.json, edited as a generic JSON object so
// that every field survives, including ones docker/cli's ConfigFile does
// not know: its Save drops them (checked by TestConfigureKeepsUnknownFields).
type dockerConfig struct {
	path   string // as given; may be a symlink
	exists bool
	mode   fs.FileMode
	raw    []byte
	fields map[string]json.RawMessage
}

// DockerConfigPath is docker's config.json: in $DOCKER_CONFIG, or in ~/.docker.
func DockerConfigPath(getenv func(string) string) (string, error) {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home directory: %w", err)
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

// loadDockerConfig reads config.json; a missing file is an empty config.
func loadDockerConfig(path string) (*dockerConfig, error) {
	c := &dockerConfig{path: path, mode: 0o600, fields: map[string]json.RawMessage{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil {
		c.mode = fi.Mode().Perm()
	}
	c.exists, c.raw = true, data
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(data, &c.fields); err != nil || c.fields == nil {
		return nil, fmt.Errorf("%s is not a JSON object; fix or move it, then run again", path)
	}
	return c, nil
}

// get decodes a field into v; a missing field leaves v alone.
func (c *dockerConfig) get(key string, v any) error {
	raw, ok := c.fields[key]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: field %q: %w", c.path, key, err)
	}
	return nil
}

// set encodes v into a field.
func (c *dockerConfig) set(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.fields[key] = raw
	return nil
}

// encode renders the config as docker does: indented, tabs.
func (c *dockerConfig) encode() ([]byte, error) {
	out, err := json.MarshalIndent(c.fields, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// changed reports whether saving would change the file's content as JSON.
func (c *dockerConfig) changed() bool {
	after, err := c.encode()
	if err != nil || !c.exists {
		return true
	}
	var x, y any
	if json.Unmarshal(c.raw, &x) != nil || json.Unmarshal(after, &y) != nil {
		return true
	}
	return !reflect.DeepEqual(x, y)
}

// backupSuffix names the copy of config.json configure keeps beside it.
const backupSuffix = ".regcred-backup"

// save writes the config atomically through any symlink, keeping the
// file's mode (0600 for a new file). With backup, the previous content is
// kept beside it as config.json.regcred-backup — without any plaintext
// secret it held: no file regcred writes holds one.
func (c *dockerConfig) save(backup bool) error {
	data, err := c.encode()
	if err != nil {
		return err
	}
	target := c.target()
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if backup && c.exists {
		old, err := withoutSecrets(c.raw)
		if err != nil {
			return fmt.Errorf("back up %s: %w", target, err)
		}
		if err := atomicfile.WriteFile(target+backupSuffix, old, c.mode); err != nil {
			return fmt.Errorf("back up %s: %w", target, err)
		}
	}
	return atomicfile.WriteFile(target, data, c.mode)
}

// target is the file a save replaces: the config itself, through any symlink.
func (c *dockerConfig) target() string {
	if resolved, err := filepath.EvalSymlinks(c.path); err == nil {
		return resolved
	}
	return c.path
}

// secretFields are the fields of an "auths" entry that hold a secret.
var secretFields = []string{"auth", "password", "identitytoken", "registrytoken"}

// withoutSecrets returns a config's content with every secret field of
// every "auths" entry removed; content that is not a JSON object is
// returned as is, since it holds no entry docker would read.
func withoutSecrets(raw []byte) ([]byte, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return raw, nil
	}
	var auths map[string]map[string]json.RawMessage
	if json.Unmarshal(fields["auths"], &auths) != nil || auths == nil {
		return raw, nil
	}
	changed := false
	for _, entry := range auths {
		for key := range entry {
			for _, f := range secretFields {
				if strings.EqualFold(key, f) {
					delete(entry, key)
					changed = true
				}
			}
		}
	}
	if !changed {
		return raw, nil
	}
	a, err := json.Marshal(auths)
	if err != nil {
		return nil, err
	}
	fields["auths"] = a
	out, err := json.MarshalIndent(fields, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
