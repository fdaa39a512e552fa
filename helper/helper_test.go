package helper_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/helper"
	"github.com/regcred/regcred/store"
	"github.com/regcred/regcred/store/keyring"
	"github.com/regcred/regcred/store/wsl"
)

// memHelper runs the protocol in-process, as the binary does, on a store
// over an in-memory keyring.
type memHelper struct {
	t      *testing.T
	kr     *keyring.Memory
	st     *store.Store
	opened int // how often the store was opened
}

func newMemHelper(t *testing.T) *memHelper {
	t.Helper()
	kr := keyring.NewMemory()
	st, err := store.New(store.Config{Keyring: kr, LockPath: filepath.Join(t.TempDir(), "lock")})
	if err != nil {
		t.Fatal(err)
	}
	return &memHelper{t: t, kr: kr, st: st}
}

// run runs one call and returns its exit code and stdout.
func (h *memHelper) run(stdin string, args ...string) (int, string) {
	h.t.Helper()
	var out bytes.Buffer
	code := helper.Run(context.Background(), args, strings.NewReader(stdin), &out, io.Discard, func(context.Context) (*store.Store, error) {
		h.opened++
		return h.st, nil
	})
	return code, out.String()
}

// TestProtocolInProcess: each verb's exact answer, as docker and the other
// clients read it: results on stdout, errors on stdout with exit 1, the
// not-found string docker matches.
func TestProtocolInProcess(t *testing.T) {
	// main sets these for upstream's version line.
	name, pkg, version := credentials.Name, credentials.Package, credentials.Version
	credentials.Name, credentials.Package, credentials.Version = helper.Name, "github.com/regcred/regcred", "v1.2.3"
	t.Cleanup(func() { credentials.Name, credentials.Package, credentials.Version = name, pkg, version })
	h := newMemHelper(t)
	steps := []struct {
		name       string
		args       []string
		stdin      string
		code       int
		stdout     string
		wantOpened bool
	}{
		{"get before any store", []string{"get"}, "ghcr.io", 1, credentials.NewErrCredentialsNotFound().Error() + "\n", true},
		{"list empty", []string{"list"}, "", 0, "{}\n", true},
		{"store", []string{"store"}, `{"ServerURL":"https://ghcr.io","Username":"alice","Secret":"s3cret"}`, 0, "", true},
		{"get the stored spelling", []string{"get"}, "https://ghcr.io", 0, `{"ServerURL":"https://ghcr.io","Username":"alice","Secret":"s3cret"}` + "\n", true},
		// upstream's Get answers with the address asked about
		{"get another spelling", []string{"get"}, "GHCR.io/", 0, `{"ServerURL":"GHCR.io/","Username":"alice","Secret":"s3cret"}` + "\n", true},
		{"identity token round-trips", []string{"store"}, `{"ServerURL":"r.example:5000","Username":"<token>","Secret":"refresh"}`, 0, "", true},
		{"list both", []string{"list"}, "", 0, `{"https://ghcr.io":"alice","r.example:5000":"\u003ctoken\u003e"}` + "\n", true},
		{"erase", []string{"erase"}, "ghcr.io", 0, "", true},
		{"erase unknown is no error", []string{"erase"}, "never.example", 0, "", true},
		{"get erased", []string{"get"}, "ghcr.io", 1, "credentials not found in native keychain\n", true},
		{"get of an address never storable", []string{"get"}, "user:pw@r.example", 1, "credentials not found in native keychain\n", true},
		// input upstream refuses never reaches the keyring
		{"store without an address", []string{"store"}, `{"Username":"alice","Secret":"s3cret"}`, 1, "no credentials server URL\n", false},
		{"store without a username", []string{"store"}, `{"ServerURL":"ghcr.io","Secret":"s3cret"}`, 1, "no credentials username\n", false},
		{"erase of nothing", []string{"erase"}, "\n", 1, "no credentials server URL\n", false},
		{"version", []string{"version"}, "", 0, "docker-credential-regcred (github.com/regcred/regcred) v1.2.3\n", false},
		{"unknown verb", []string{"stor"}, "", 1, "docker-credential-regcred: unknown action: stor. Usage: docker-credential-regcred <store|get|erase|list|version>\n", false},
		{"no verb", nil, "", 1, "Usage: docker-credential-regcred <store|get|erase|list|version>\n", false},
		{"extra argument", []string{"get", "x"}, "", 1, "Usage: docker-credential-regcred <store|get|erase|list|version>\n", false},
	}
	for _, s := range steps {
		before := h.opened
		code, out := h.run(s.stdin, s.args...)
		if code != s.code || out != s.stdout {
			t.Errorf("%s: exit %d, stdout %q; want %d, %q", s.name, code, out, s.code, s.stdout)
		}
		if opened := h.opened > before; opened != s.wantOpened {
			t.Errorf("%s: store opened %v, want %v (only verbs that need the keyring touch it)", s.name, opened, s.wantOpened)
		}
	}
}

// TestBadInputChangesNothing: each malformed call gets one line on stdout,
// exit 1, and leaves the keyring exactly as it was.
func TestBadInputChangesNothing(t *testing.T) {
	h := newMemHelper(t)
	if code, out := h.run(`{"ServerURL":"keep.example","Username":"u","Secret":"s"}`, "store"); code != 0 {
		t.Fatalf("store: exit %d, %q", code, out)
	}
	before := h.kr.Snapshot()
	tests := []struct {
		name, verb, stdin, want string
	}{
		{"not JSON", "store", "nope", "invalid input: want one JSON object {\"ServerURL\":…,\"Username\":…,\"Secret\":…}"},
		{"two objects", "store", `{"ServerURL":"a.example","Username":"u","Secret":"s"}{}`, "invalid input: data after the JSON object; want one JSON object {\"ServerURL\":…,\"Username\":…,\"Secret\":…}"},
		{"secret not a string", "store", `{"ServerURL":"a.example","Username":"u","Secret":7}`, "invalid input: Secret must be a string"},
		{"NUL byte", "store", "{\"ServerURL\":\"a.example\",\"Username\":\"u\",\"Secret\":\"a\x00\"}", "invalid input: contains a NUL byte"},
		{"invalid UTF-8", "store", "{\"ServerURL\":\"a.example\",\"Username\":\"u\",\"Secret\":\"\xff\"}", "invalid input: not valid UTF-8"},
		{"line too long", "store", `{"ServerURL":"a.example","Username":"u","Secret":"` + strings.Repeat("x", 70000) + `"}`, "invalid input: a line longer than 65536 bytes (the credential-helper protocol's limit)"},
		{"password in the address", "store", `{"ServerURL":"u:pw@a.example","Username":"u","Secret":"s"}`, "invalid server URL: credentials inside the address (user:password@host) are not allowed"},
		{"missing server", "store", `{"Username":"u","Secret":"s"}`, "no credentials server URL"},
		{"missing username", "store", `{"ServerURL":"a.example","Secret":"s"}`, "no credentials username"},
		{"erase with white space", "erase", "a b.example", "invalid server URL: contains white space or a control character"},
		{"erase with password", "erase", "u:pw@keep.example", "invalid server URL: credentials inside the address (user:password@host) are not allowed"},
	}
	for _, tt := range tests {
		code, out := h.run(tt.stdin, tt.verb)
		if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d, stdout %q; want exit 1 and one line holding %q", tt.name, code, out, tt.want)
		}
		if strings.Contains(out, "pw@") {
			t.Errorf("%s: the error echoes a secret: %q", tt.name, out)
		}
		if after := h.kr.Snapshot(); !maps.Equal(after, before) {
			t.Errorf("%s: the keyring changed: %v → %v", tt.name, before, after)
		}
	}
}

// TestKeyringErrorsAreOneLine: a keyring that cannot be reached fails get
// with the keyring's own one-line explanation (docker shows it), never as
// "not found", and store with the same.
func TestKeyringErrorsAreOneLine(t *testing.T) {
	for _, cause := range []error{keyring.ErrLocked, keyring.ErrNoSessionBus, keyring.ErrKeyringTimeout} {
		h := newMemHelper(t)
		h.kr.Err = cause
		for _, c := range []struct{ verb, stdin string }{{"get", "ghcr.io"}, {"store", `{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}`}, {"list", ""}} {
			code, out := h.run(c.stdin, c.verb)
			if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, cause.Error()) || strings.Contains(out, "credentials not found") {
				t.Errorf("%s with %q: exit %d, stdout %q", c.verb, cause, code, out)
			}
		}
	}
}

// TestOpenFailureIsOneLine: a store that cannot be opened (a bad
// REGCRED_TIMEOUT, say) is the call's one-line error.
func TestOpenFailureIsOneLine(t *testing.T) {
	var out bytes.Buffer
	code := helper.Run(context.Background(), []string{"get"}, strings.NewReader("ghcr.io"), &out, io.Discard, func(context.Context) (*store.Store, error) {
		return nil, errors.New("REGCRED_TIMEOUT=\"x\": want a positive Go duration such as 30s")
	})
	if want := "REGCRED_TIMEOUT=\"x\": want a positive Go duration such as 30s\n"; code != 1 || out.String() != want {
		t.Errorf("exit %d, stdout %q; want 1, %q", code, out.String(), want)
	}
}

// unreachable is a Remote out of reach: WSL with interop switched off.
type unreachable struct{ calls int }

func (u *unreachable) Get(context.Context, string) (string, string, error) {
	u.calls++
	return "", "", wsl.ErrInteropOff
}
func (u *unreachable) Put(context.Context, string, string, string) error {
	u.calls++
	return wsl.ErrInteropOff
}
func (u *unreachable) Erase(context.Context, string) error { u.calls++; return wsl.ErrInteropOff }
func (u *unreachable) List(context.Context) (map[string]string, error) {
	u.calls++
	return nil, wsl.ErrInteropOff
}

// TestUnreachableWindowsKeyring: with the Windows keyring of WSL out of
// reach, get answers docker's not-found string (docker fails a pull, of a
// public image too, on any other answer) and says why on stderr; store,
// erase and list fail in one line that says why, on stdout.
func TestUnreachableWindowsKeyring(t *testing.T) {
	remote := &unreachable{}
	st, err := store.New(store.Config{Remote: remote, LockPath: filepath.Join(t.TempDir(), "lock")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		verb, stdin, stdout, stderr string
	}{
		{"get", "ghcr.io", "credentials not found in native keychain\n",
			"docker-credential-regcred: answering \"not found\" for ghcr.io: " + wsl.ErrInteropOff.Error() + "\n"},
		{"store", `{"ServerURL":"ghcr.io","Username":"u","Secret":"s3cret"}`, wsl.ErrInteropOff.Error() + "\n", ""},
		{"erase", "ghcr.io", wsl.ErrInteropOff.Error() + "\n", ""},
		{"list", "", wsl.ErrInteropOff.Error() + "\n", ""},
	} {
		t.Run(tt.verb, func(t *testing.T) {
			before := remote.calls
			var out, errOut bytes.Buffer
			code := helper.Run(context.Background(), []string{tt.verb}, strings.NewReader(tt.stdin), &out, &errOut, func(context.Context) (*store.Store, error) { return st, nil })
			if code != 1 || out.String() != tt.stdout || errOut.String() != tt.stderr {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1, %q, %q", tt.verb, code, out.String(), errOut.String(), tt.stdout, tt.stderr)
			}
			if remote.calls != before+1 {
				t.Errorf("%s asked the Windows keyring %d times, want once", tt.verb, remote.calls-before)
			}
		})
	}
}
