package manage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// A tool is a family of registry clients that share one way of finding
// their credentials, so configure wires them together.
type tool struct {
	name     string   // its --tools name
	label    string   // how messages name it
	commands []string // programs whose presence means it is installed
	always   bool     // wired by default even when none of commands is installed
}

// tools are the client families configure knows, in the order it wires them.
//
// docker's config.json is also what crane, oras, buildx, ko and other
// go-containerregistry and oras-go clients read, so it is wired by default
// even without the docker CLI. podman, buildah and skopeo (containers/image)
// ignore its credsStore and read registries.conf; helm keeps a registry
// config of its own.
var tools = []tool{
	{name: "docker", label: "docker, crane, oras, buildx", commands: []string{"docker"}, always: true},
	{name: "containers", label: "podman, buildah, skopeo", commands: []string{"podman", "buildah", "skopeo"}},
	{name: "helm", label: "helm", commands: []string{"helm"}},
}

// toolNames is the --tools list, for messages.
func toolNames() string {
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.name
	}
	return strings.Join(names, ",")
}

// installed names the programs of t that are on PATH.
func (r *runner) installed(t tool) []string {
	var found []string
	for _, c := range t.commands {
		if _, err := r.lookPath(c); err == nil {
			found = append(found, c)
		}
	}
	return found
}

// selectTools parses a --tools value. Empty means every tool that is
// installed (docker's config always), or with all every tool.
func (r *runner) selectTools(list string, all bool) ([]tool, error) {
	if list == "" {
		var out []tool
		for _, t := range tools {
			if all || t.always || len(r.installed(t)) > 0 {
				out = append(out, t)
			}
		}
		return out, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		known := false
		for _, t := range tools {
			known = known || t.name == n
		}
		if !known {
			return nil, fmt.Errorf("--tools: unknown tool %q: give any of %s", n, toolNames())
		}
		want[n] = true
	}
	var out []tool
	for _, t := range tools {
		if want[t.name] {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--tools names no tool: give any of %s", toolNames())
	}
	return out, nil
}

// toolFile is the file configure edits for tool t: docker's config.json,
// the containers tools' registries.conf drop-in, helm's registry config.
func (r *runner) toolFile(t tool) (string, error) {
	switch t.name {
	case "containers":
		return r.dropInFile()
	case "helm":
		return r.helmRegistryConfig()
	default:
		return DockerConfigPath(r.getenv)
	}
}

// home is the user's home directory, from $HOME where it is set.
func (r *runner) home() (string, error) {
	if h := r.getenv("HOME"); h != "" && runtime.GOOS != "windows" {
		return h, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home directory: %w", err)
	}
	return h, nil
}

// configHome is $XDG_CONFIG_HOME, or ~/.config.
func (r *runner) configHome() (string, error) {
	if d := r.getenv("XDG_CONFIG_HOME"); d != "" {
		return d, nil
	}
	h, err := r.home()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".config"), nil
}

// containersAuthFile is the auth file podman, buildah and skopeo log in to
// (containers-auth.json(5)): $REGISTRY_AUTH_FILE, else
// $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/UID/auth.json
// (on other systems than Linux ~/.config/containers/auth.json).
func (r *runner) containersAuthFile() (string, error) {
	if f := r.getenv("REGISTRY_AUTH_FILE"); f != "" {
		return f, nil
	}
	if runtime.GOOS != "linux" {
		h, err := r.home()
		if err != nil {
			return "", err
		}
		return filepath.Join(h, ".config", "containers", "auth.json"), nil
	}
	if d := r.getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "containers", "auth.json"), nil
	}
	return fmt.Sprintf("/run/containers/%d/auth.json", os.Getuid()), nil
}

// dropInFile is the registries.conf drop-in configure writes. The
// containers tools read ~/.config/containers/registries.conf.d after the
// system's drop-ins, whether or not a per-user registries.conf exists
// (containers-registries.conf.d(5)), so this one setting wins for the user
// without touching any file they or the system own.
func (r *runner) dropInFile() (string, error) {
	h, err := r.home()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".config", "containers", "registries.conf.d", "90-regcred.conf"), nil
}

// dropInMarker starts the drop-in, so --undo removes only a file regcred wrote.
const dropInMarker = "# Written by docker-credential-regcred configure"

// dropInContent makes podman, buildah and skopeo store and look up every
// registry's credentials through the helper: the list replaces their
// default ["containers-auth.json"], so nothing is written to an auth file.
const dropInContent = dropInMarker + `; removed by configure --undo.
# podman, buildah and skopeo store, read and erase every registry's
# credentials through docker-credential-regcred (the OS keyring), never
# in an auth file. See containers-registries.conf(5), credential-helpers.
credential-helpers = ["regcred"]
`

// helmRegistryConfig is helm's registry config: $HELM_REGISTRY_CONFIG, else
// registry/config.json in helm's config home ($HELM_CONFIG_HOME, else
// $XDG_CONFIG_HOME/helm, else the platform's: ~/.config/helm,
// ~/Library/Preferences/helm, %APPDATA%\helm).
func (r *runner) helmRegistryConfig() (string, error) {
	if f := r.getenv("HELM_REGISTRY_CONFIG"); f != "" {
		return f, nil
	}
	dir := r.getenv("HELM_CONFIG_HOME")
	if dir == "" {
		base := r.getenv("XDG_CONFIG_HOME")
		if base == "" {
			switch runtime.GOOS {
			case "windows":
				base = r.getenv("APPDATA")
			case "darwin":
				h, err := r.home()
				if err != nil {
					return "", err
				}
				base = filepath.Join(h, "Library", "Preferences")
			default:
				h, err := r.home()
				if err != nil {
					return "", err
				}
				base = filepath.Join(h, ".config")
			}
		}
		if base == "" {
			return "", errors.New("find helm's config directory: set HELM_REGISTRY_CONFIG")
		}
		dir = filepath.Join(base, "helm")
	}
	return filepath.Join(dir, "registry", "config.json"), nil
}

// clientFile is a file a registry client may keep credentials in.
type clientFile struct {
	path  string
	owner string // the clients that write it, for messages
	// legacy is docker's old ~/.dockercfg: registries are its top-level keys.
	legacy bool
}

// clientFiles are every file a known client may keep plaintext credentials
// in, each once: docker's config.json and ~/.dockercfg, the containers
// tools' auth files, helm's registry config.
func (r *runner) clientFiles() ([]clientFile, error) {
	var files []clientFile
	seen := map[string]bool{}
	add := func(path, owner string, legacy bool) {
		if a := absPath(path); !seen[a] {
			seen[a] = true
			files = append(files, clientFile{path: path, owner: owner, legacy: legacy})
		}
	}
	docker, err := DockerConfigPath(r.getenv)
	if err != nil {
		return nil, err
	}
	add(docker, "docker", false)
	h, err := r.home()
	if err != nil {
		return nil, err
	}
	add(filepath.Join(h, ".dockercfg"), "docker (legacy)", true)
	auth, err := r.containersAuthFile()
	if err != nil {
		return nil, err
	}
	add(auth, "podman, buildah, skopeo", false)
	cfgHome, err := r.configHome()
	if err != nil {
		return nil, err
	}
	add(filepath.Join(cfgHome, "containers", "auth.json"), "podman, buildah, skopeo", false)
	helm, err := r.helmRegistryConfig()
	if err != nil {
		return nil, err
	}
	add(helm, "helm", false)
	return files, nil
}
