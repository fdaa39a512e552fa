//go:build linux

package keyring

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestFrozenBusBoundedByTimeout: a session bus that accepts connections and
// never answers (a wedged dbus-daemon) costs each call its time-out (and a
// fifth more, for the provider's hint) and no more — also the second call of a process, after the first one's
// abandoned connection attempt holds godbus's session-bus lock for good.
// Detection there is not sure of its choice.
// It runs in a child process: the wedged lock is the process's for life.
func TestFrozenBusBoundedByTimeout(t *testing.T) {
	if os.Getenv("REGCRED_FROZEN_BUS_CHILD") == "1" {
		frozenBusChild(t)
		return
	}
	sock := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn // accepted, never answered
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFrozenBusBoundedByTimeout$", "-test.v")
	cmd.Env = append(os.Environ(), "REGCRED_FROZEN_BUS_CHILD=1", "DBUS_SESSION_BUS_ADDRESS=unix:path="+sock)
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("three calls bounded by 500 ms each still hang after 20 s\n%s", out)
	}
}

// frozenBusChild makes the calls: each must end in ErrKeyringTimeout.
func frozenBusChild(t *testing.T) {
	k := NewSecretService(Options{Timeout: 500 * time.Millisecond})
	for i := range 3 {
		start := time.Now()
		_, err := k.Get(context.Background(), "frozen.example")
		took := time.Since(start)
		if !errors.Is(err, ErrKeyringTimeout) {
			t.Errorf("call %d: %v; want ErrKeyringTimeout", i, err)
		}
		// The time-out, a fifth more for the provider's hint, and slack
		// for a loaded machine's scheduler.
		if took > 2*time.Second {
			t.Errorf("call %d ended after %s; want its 500 ms time-out and the hint's 100 ms", i, took)
		}
	}
	// A first command on such a bus uses the Secret Service it cannot
	// reach, and says so, rather than record the kernel keyring for good.
	if name, why, sure := Detect(context.Background(), Options{Timeout: 500 * time.Millisecond}); name != SecretServiceName || sure {
		t.Errorf("Detect on a wedged bus: %q (%s), sure %v; want %q, not sure", name, why, sure, SecretServiceName)
	}
}
