// Command localregistry runs a private registry on loopback for trying
// regcred (`make registry`): htpasswd auth with one user and a fresh
// password, plain HTTP, data in a temporary directory. Ctrl-C stops it and
// removes the data.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/regcred/regcred/testenv/launch"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "regcred-registry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	password := hex.EncodeToString(b)
	for _, p := range []string{"docker-registry", "htpasswd"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%s is not installed: sudo apt-get install docker-registry apache2-utils", p)
		}
	}
	reg, err := launch.NewRegistry(dir, map[string]string{"me": password})
	if err != nil {
		return err
	}
	defer reg.Stop()
	fmt.Printf(`A private registry to try regcred with, at %s (plain HTTP on loopback, htpasswd auth).
  user:     me
  password: %s
From another shell:
  docker login %s -u me          # paste the password; it goes to the keyring
  docker-credential-regcred ls
Ctrl-C stops it and removes its data.
`, reg.Host, password, reg.Host)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	return nil
}
