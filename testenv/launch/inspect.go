package launch

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// registeredService returns the Secret Service on conn after a property
// read, so gnome-keyring has registered the client before a method that
// needs it arrives (see store's beforeSet: a first SearchItems can fail
// with "not implemented", a first OpenSession aborts the daemon).
func registeredService(conn *dbus.Conn) dbus.BusObject {
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	_, _ = svc.GetProperty("org.freedesktop.Secret.Service.Collections")
	return svc
}

// Items returns the account ("username" attribute) of every item the
// session's keyring holds for service, read straight from the Secret
// Service, so tests see what is really stored, orphans included.
func (s *Session) Items(service string) ([]string, error) {
	labels, err := s.Labels(service)
	if err != nil {
		return nil, err
	}
	accounts := make([]string, 0, len(labels))
	for a := range labels {
		accounts = append(accounts, a)
	}
	sort.Strings(accounts)
	return accounts, nil
}

// Labels returns account → label of every item the session's keyring
// holds for service, as Seahorse or secret-tool would show it.
func (s *Session) Labels(service string) (map[string]string, error) {
	conn, err := dbus.Connect(s.Address)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	svc := registeredService(conn)
	var unlocked, locked []dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0,
		map[string]string{"service": service}).Store(&unlocked, &locked); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range append(unlocked, locked...) {
		var props map[string]dbus.Variant
		if err := conn.Object("org.freedesktop.secrets", p).Call("org.freedesktop.DBus.Properties.GetAll", 0,
			"org.freedesktop.Secret.Item").Store(&props); err != nil {
			return nil, err
		}
		attrs, _ := props["Attributes"].Value().(map[string]string)
		label, _ := props["Label"].Value().(string)
		out[attrs["username"]] = label
	}
	return out, nil
}

// SetLabel sets the label of the item stored for service under account,
// as a keyring manager would, or as a helper killed between writing a
// secret and its label leaves it on a provider that writes them apart.
func (s *Session) SetLabel(service, account, label string) error {
	conn, err := dbus.Connect(s.Address)
	if err != nil {
		return err
	}
	defer conn.Close()
	svc := registeredService(conn)
	var unlocked, locked []dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0,
		map[string]string{"service": service, "username": account}).Store(&unlocked, &locked); err != nil {
		return err
	}
	if len(unlocked) != 1 {
		return fmt.Errorf("%d unlocked items for %s, want 1", len(unlocked), account)
	}
	return conn.Object("org.freedesktop.secrets", unlocked[0]).SetProperty("org.freedesktop.Secret.Item.Label", dbus.MakeVariant(label))
}

// Snapshot returns every item the session's keyring holds for service —
// account, label and secret, one per line, sorted — so a test can check an
// operation changed nothing at all.
func (s *Session) Snapshot(service string) (string, error) {
	conn, err := dbus.Connect(s.Address)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	svc := registeredService(conn)
	var unlocked, locked []dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0,
		map[string]string{"service": service}).Store(&unlocked, &locked); err != nil {
		return "", err
	}
	var ignored dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &session); err != nil {
		return "", err
	}
	var lines []string
	for _, p := range append(unlocked, locked...) {
		item := conn.Object("org.freedesktop.secrets", p)
		var props map[string]dbus.Variant
		if err := item.Call("org.freedesktop.DBus.Properties.GetAll", 0, "org.freedesktop.Secret.Item").Store(&props); err != nil {
			return "", err
		}
		var secret struct {
			Session     dbus.ObjectPath
			Parameters  []byte
			Value       []byte
			ContentType string
		}
		if err := item.Call("org.freedesktop.Secret.Item.GetSecret", 0, session).Store(&secret); err != nil {
			return "", err
		}
		attrs, _ := props["Attributes"].Value().(map[string]string)
		label, _ := props["Label"].Value().(string)
		lines = append(lines, fmt.Sprintf("%q\t%q\t%q", attrs["username"], label, secret.Value))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), nil
}

// FilesContaining lists the files under the session's directory — its
// HOME, XDG directories, runtime directory and TMPDIR — whose content
// includes needle: a secret found here was written in plaintext.
func (s *Session) FilesContaining(needle string) ([]string, error) {
	return filesContaining(s.Dir, needle)
}

// FilesUnder lists the files under each of dirs whose content includes
// needle; a directory that does not exist holds none.
func FilesUnder(dirs []string, needle string) ([]string, error) {
	var hits []string
	for _, d := range dirs {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			continue
		}
		h, err := filesContaining(d, needle)
		if err != nil {
			return nil, err
		}
		hits = append(hits, h...)
	}
	return hits, nil
}

// filesContaining lists the files under dir whose content includes needle.
// A file or directory it cannot read is an error: the scan would be
// incomplete.
func filesContaining(dir, needle string) ([]string, error) {
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), needle) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits, err
}

// Monitor records the method calls sent to the Secret Service on the
// session's bus (dbus-monitor; the test bus allows eavesdropping).
type Monitor struct {
	cmd *exec.Cmd
	out *bytes.Buffer
	mu  *sync.Mutex
}

// lockedBuffer is written by the monitor process and read by the test.
type lockedBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// MonitorSecretService starts dbus-monitor on the session's bus and waits
// until it is listening.
func (s *Session) MonitorSecretService() (*Monitor, error) {
	m := &Monitor{out: &bytes.Buffer{}, mu: &sync.Mutex{}}
	m.cmd = exec.Command("dbus-monitor", "--address", s.Address,
		"type='method_call',destination='org.freedesktop.secrets'")
	m.cmd.Stdout = lockedBuffer{m.mu, m.out}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dbus-monitor: %w", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		ready := m.out.Len() > 0 // it reports acquiring its name first
		m.mu.Unlock()
		if ready {
			return m, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.Stop()
	return nil, errors.New("dbus-monitor printed nothing")
}

// Call is one method call seen on the bus.
type Call struct{ Sender, Member string }

// Stop ends the monitor and returns the method calls it saw, in order.
func (m *Monitor) Stop() []Call {
	time.Sleep(50 * time.Millisecond) // let the last messages arrive
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	var calls []Call
	for _, line := range strings.Split(m.out.String(), "\n") {
		if !strings.HasPrefix(line, "method call ") || !strings.Contains(line, "destination=org.freedesktop.secrets") {
			continue
		}
		var c Call
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "sender="); ok {
				c.Sender = v
			}
			if v, ok := strings.CutPrefix(f, "member="); ok {
				c.Member = v
			}
		}
		calls = append(calls, c)
	}
	return calls
}
