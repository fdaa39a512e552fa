package launch

import (
	"bytes"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// NewRegistry is StartRegistry outside a test: dir must be private to it;
// the caller stops it.
func NewRegistry(dir string, users map[string]string) (*Registry, error) {
	r := &Registry{Host: FreeAddr(), Dir: dir}
	if err := r.writeUsers(users); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, registryConfig, filepath.Join(dir, "data"), r.Host, filepath.Join(dir, "htpasswd")), 0o600); err != nil {
		return nil, err
	}
	return r, r.start()
}

// writeUsers writes the htpasswd file. Passwords reach htpasswd on stdin.
func (r *Registry) writeUsers(users map[string]string) error {
	var htpasswd bytes.Buffer
	for user, pass := range users {
		cmd := exec.Command("htpasswd", "-niB", user)
		cmd.Stdin = strings.NewReader(pass)
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("htpasswd: %w", err)
		}
		htpasswd.Write(bytes.TrimSpace(out))
		htpasswd.WriteByte('\n')
	}
	return os.WriteFile(filepath.Join(r.Dir, "htpasswd"), htpasswd.Bytes(), 0o600)
}

// SetUsers replaces the registry's users (a password change) and restarts
// it on the same address with the same content: docker-registry reads its
// htpasswd file only at start.
func (r *Registry) SetUsers(users map[string]string) error {
	r.Stop()
	if err := r.writeUsers(users); err != nil {
		return err
	}
	return r.start()
}

// start runs docker-registry and waits until it answers.
func (r *Registry) start() error {
	r.cmd = exec.Command("docker-registry", "serve", filepath.Join(r.Dir, "config.yml"))
	logf, err := os.Create(filepath.Join(r.Dir, "registry.log"))
	if err != nil {
		return err
	}
	defer logf.Close() // the child keeps its own descriptor
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start docker-registry: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			r.Stop()
			return fmt.Errorf("docker-registry on %s did not come up: %v\n%s", r.Host, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *Registry) Stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// FreeAddr returns a loopback address with a port nothing listens on, below
// the ephemeral range; "" when no port could be had.
//
// The port is drawn at random from below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range): a port the kernel handed out for
// listening (":0") comes from that range, and between our check and the
// server's own bind an outgoing connection can take it ("bind: address
// already in use", seen in 2 of 10 runs). Below the range the kernel never
// hands a port out by itself. Ports given out once by this process are
// not given out again.
func FreeAddr() string {
	lo, hi := 10000, ephemeralStart()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		port := lo + mathrand.IntN(hi-lo)
		if portsGiven[port] {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[port] = true
		return addr
	}
	return ""
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// ephemeralStart is the first port of the kernel's ephemeral range
// (32768 when it cannot be read).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var first, last int
	if _, err := fmt.Sscan(string(b), &first, &last); err != nil || first <= 10100 {
		return 32768
	}
	return first
}
