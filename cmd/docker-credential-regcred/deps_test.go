package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencies fails if a package links what it must not:
//   - the credential helper, what would slow every docker command that
//     starts it: client-go adds ~5 ms and 11 MiB to each start (measured
//     while planning), docker/cli and cobra more init work. Those belong to
//     kubectl-regcred;
//   - kube, the keyring stack (D-Bus, go-keyring, the writers' lock, the
//     store): it needs only the address rules, store/address;
//   - kube/dockerconfig, client-go and the Kubernetes API: it is pure
//     logic, fuzzed without compiling client-go instrumented (80 s of a
//     cold make ci when the fuzz target was in kube).
func TestDependencies(t *testing.T) {
	for _, tt := range []struct {
		pkg       string
		forbidden []string
		allowed   []string
	}{
		{"github.com/regcred/regcred/cmd/docker-credential-regcred",
			[]string{"k8s.io/", "github.com/docker/cli/", "github.com/spf13/cobra", "google.golang.org/protobuf", "github.com/regcred/regcred/kube", "github.com/regcred/regcred/plugin"}, nil},
		{"github.com/regcred/regcred/kube",
			[]string{"github.com/godbus/", "github.com/zalando/go-keyring", "github.com/gofrs/flock", "github.com/regcred/regcred/store"},
			[]string{"github.com/regcred/regcred/store/address"}},
		{"github.com/regcred/regcred/kube/dockerconfig",
			[]string{"k8s.io/", "github.com/godbus/", "github.com/zalando/go-keyring", "github.com/regcred/regcred/store"},
			[]string{"github.com/regcred/regcred/store/address"}},
	} {
		out, err := exec.Command("go", "list", "-deps", tt.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", tt.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range tt.forbidden {
				if strings.HasPrefix(dep, f) && !slices.Contains(tt.allowed, dep) {
					t.Errorf("%s links %s", tt.pkg, dep)
				}
			}
		}
	}
}
