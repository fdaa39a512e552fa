// Command kubelet-keyring resolves images against pull Secrets with the
// kubelet's own code (k8s.io/kubernetes/pkg/credentialprovider/secrets), so
// regcred's tests check exported Secrets the way a node would use them.
//
// Usage: kubelet-keyring IMAGE... < secret.json
//
// stdin is one Secret (JSON, as the API server returns it); stdout is a
// JSON object image → {"found", "username", "password"} for the first
// credential the kubelet would try. Each image is normalised first as the
// kubelet's image manager does before its lookup (parsers.ParseImageName:
// "nginx" is looked up as docker.io/library/nginx).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/credentialprovider"
	"k8s.io/kubernetes/pkg/credentialprovider/secrets"
	"k8s.io/kubernetes/pkg/util/parsers"
)

type answer struct {
	Found    bool   `json:"found"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func main() {
	var secret v1.Secret
	if err := json.NewDecoder(os.Stdin).Decode(&secret); err != nil {
		fmt.Fprintln(os.Stderr, "kubelet-keyring: read secret:", err)
		os.Exit(1)
	}
	keyring, err := secrets.MakeDockerKeyring([]v1.Secret{secret}, &credentialprovider.BasicDockerKeyring{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubelet-keyring:", err)
		os.Exit(1)
	}
	out := map[string]answer{}
	for _, image := range os.Args[1:] {
		repo, _, _, err := parsers.ParseImageName(image)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubelet-keyring:", err)
			os.Exit(1)
		}
		creds, ok := keyring.Lookup(repo)
		a := answer{Found: ok && len(creds) > 0}
		if a.Found {
			a.Username, a.Password = creds[0].Username, creds[0].Password
		}
		out[image] = a
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
