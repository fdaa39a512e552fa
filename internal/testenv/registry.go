package testenv

import (
	"archive/tar"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Registry is a private distribution registry on loopback with htpasswd auth.
type Registry struct {
	Host string // 127.0.0.1:PORT
	Dir  string
	cmd  *exec.Cmd
}

// registryConfig is docker-registry's (distribution 2.x) configuration.
const registryConfig = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
auth:
  htpasswd:
    realm: regcred-test
    path: %s
`

// StartRegistry starts docker-registry with the given users (name →
// password) on a free loopback port and stops it when the test ends.
// Passwords reach htpasswd on stdin, never in argv.
func StartRegistry(tb testing.TB, users map[string]string) *Registry {
	tb.Helper()
	Require(tb, "docker-registry", "htpasswd")
	r, err := NewRegistry(tb.TempDir(), users)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Stop)
	return r
}

// NewRegistry is StartRegistry outside a test: dir must be private to it;
// the caller stops it.
func NewRegistry(dir string, users map[string]string) (*Registry, error) {
	var htpasswd bytes.Buffer
	for user, pass := range users {
		cmd := exec.Command("htpasswd", "-niB", user)
		cmd.Stdin = strings.NewReader(pass)
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("htpasswd: %w", err)
		}
		htpasswd.Write(bytes.TrimSpace(out))
		htpasswd.WriteByte('\n')
	}
	pwfile := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(pwfile, htpasswd.Bytes(), 0o600); err != nil {
		return nil, err
	}
	host := freeAddr()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, registryConfig, filepath.Join(dir, "data"), host, pwfile), 0o600); err != nil {
		return nil, err
	}
	r := &Registry{Host: host, Dir: dir}
	r.cmd = exec.Command("docker-registry", "serve", cfg)
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child keeps its own descriptor
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start docker-registry: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			r.Stop()
			return nil, fmt.Errorf("docker-registry on %s did not come up: %v\n%s", host, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the registry.
func (r *Registry) Stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

// FreeAddr returns a loopback address with a port nothing listens on.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	a := freeAddr()
	if a == "" {
		tb.Fatal("no free loopback port")
	}
	return a
}

// freeAddr is FreeAddr outside a test; "" when no port could be had.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ""
	}
	defer l.Close()
	return l.Addr().String()
}

// WriteLayer writes a one-file tar, to push as a private image's layer.
func WriteLayer(tb testing.TB, path string) {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("hello from a private image\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(body))}); err != nil {
		tb.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		tb.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
}
