package kube

import (
	"os/exec"
	"strings"
	"testing"
)

// TestKubeLinksNoKeyring fails if the Kubernetes side links the keyring
// stack: kube needs only the address rules (store/address), and the
// keyring code (D-Bus, go-keyring, the writers' lock, the store itself)
// belongs to whoever opens the store.
func TestKubeLinksNoKeyring(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/regcred/regcred/kube").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"github.com/godbus/", "github.com/zalando/go-keyring", "github.com/gofrs/flock", "github.com/regcred/regcred/store", "github.com/regcred/regcred/backend"}
	allowed := "github.com/regcred/regcred/store/address"
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) && pkg != allowed {
				t.Errorf("kube links %s", pkg)
			}
		}
	}
}
