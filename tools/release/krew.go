// Package release turns a release build's artifacts into what installers
// and auditors read: the krew plugin manifest, and SBOMs made reproducible.
package release

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Artifact is one entry of GoReleaser's dist/artifacts.json.
type Artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	Type   string `json:"type"`
}

// The krew Plugin manifest, v1alpha2 (sigs.k8s.io/krew/pkg/index), as much
// of it as a manifest sets.
type (
	plugin struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   metadata   `json:"metadata"`
		Spec       pluginSpec `json:"spec"`
	}
	metadata struct {
		Name string `json:"name"`
	}
	pluginSpec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Caveats          string     `json:"caveats"`
		Platforms        []platform `json:"platforms"`
	}
	platform struct {
		Selector selector `json:"selector"`
		URI      string   `json:"uri"`
		Sha256   string   `json:"sha256"`
		Files    []file   `json:"files"`
		Bin      string   `json:"bin"`
	}
	selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	}
	file struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
)

const (
	homepage         = "https://github.com/regcred/regcred"
	shortDescription = "Pull Secrets from the OS keyring, never from disk or argv"
	description      = `Writes the registry credentials kept in your OS keyring by
docker-credential-regcred (GNOME Keyring, KeePassXC, KWallet, the kernel
keyring, macOS Keychain, Windows Credential Manager) into
kubernetes.io/dockerconfigjson pull Secrets, and into ServiceAccounts'
imagePullSecrets, across namespaces and clusters: no password in a file,
in your shell history or in argv. Exports merge and never clobber a
teammate's entries; each key is the one the kubelet matches.

  kubectl regcred export -n dev --service-account default
  kubectl regcred verify -n dev
`
	caveats = `kubectl regcred reads the credentials docker-credential-regcred stores.
That helper is in this archive too, but krew links only kubectl-regcred:
to log in with docker through the keyring, put docker-credential-regcred
on your PATH (it is in ~/.krew/store/regcred/<version>/), then run
  docker-credential-regcred configure
`
)

// KrewManifest is the manifest of the release version (semver, with or
// without its v) whose archives are downloaded from baseURL followed by
// their names, with each archive's SHA-256 from checksums (a
// checksums.txt). Every archive must have its sum.
func KrewManifest(version, baseURL string, artifacts []Artifact, checksums []byte) ([]byte, error) {
	if version == "" || baseURL == "" {
		return nil, fmt.Errorf("a version and a download URL are needed")
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(checksums))
	for sc.Scan() {
		if sum, name, ok := strings.Cut(sc.Text(), "  "); ok {
			sums[name] = sum
		}
	}
	p := plugin{
		APIVersion: "krew.googlecontainertools.github.com/v1alpha2",
		Kind:       "Plugin",
		Metadata:   metadata{Name: "regcred"},
		Spec: pluginSpec{
			Version:          "v" + strings.TrimPrefix(version, "v"),
			Homepage:         homepage,
			ShortDescription: shortDescription,
			Description:      description,
			Caveats:          caveats,
		},
	}
	for _, a := range artifacts {
		if a.Type != "Archive" {
			continue
		}
		sum, ok := sums[a.Name]
		if !ok {
			return nil, fmt.Errorf("%s is not in checksums.txt", a.Name)
		}
		ext := ""
		if a.GOOS == "windows" {
			ext = ".exe"
		}
		p.Spec.Platforms = append(p.Spec.Platforms, platform{
			Selector: selector{MatchLabels: map[string]string{"os": a.GOOS, "arch": a.GOARCH}},
			URI:      strings.TrimSuffix(baseURL, "/") + "/" + a.Name,
			Sha256:   sum,
			Files: []file{
				{From: "kubectl-regcred" + ext, To: "."},
				{From: "docker-credential-regcred" + ext, To: "."},
				{From: "LICENSE", To: "."},
			},
			Bin: "kubectl-regcred" + ext,
		})
	}
	if len(p.Spec.Platforms) == 0 {
		return nil, fmt.Errorf("no archives among the artifacts")
	}
	sort.Slice(p.Spec.Platforms, func(i, j int) bool { return p.Spec.Platforms[i].URI < p.Spec.Platforms[j].URI })
	return yaml.Marshal(p)
}
